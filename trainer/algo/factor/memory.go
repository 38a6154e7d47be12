package factor

import (
	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/trainer/algo"
)

// Memory bounds (algo.Spec.Memory) of the factor models. Each counts the
// arrays the code allocates, by size; a search trial (s.Heldout > 0) also
// holds early stopping's best snapshot and the restored clone, and the
// evaluator's blocked copy of Vᵀ; a refit adds the artifact's copies
// (factorArtifact).

func kOf(p algo.Params, def int) int64 {
	return int64(max(algo.NewParamReader("", p).Int("n_components", def), 1))
}

// factorArtifact bounds what artifact.Build copies of a factor model: the
// factor matrices padded to format.Stride32 rows, the int8 item factors
// (quantized, then padded to format.Stride8) with their scales, the Gram
// matrix and seen values that are not all 1.
func factorArtifact(s algo.Shape, k int64) int64 {
	U, I := int64(s.Users), int64(s.Items)
	return 4*(U+I)*int64(format.Stride32(int(k))) + I*(int64(format.Stride8(int(k)))+k) + 8*I + 4*k*k + 4*s.NNZ
}

// gramBytes bounds gram()'s pooled buffers for an n-row factor matrix: one
// k×k float32 partial sum per 4096-row block and one block transpose per
// worker.
func gramBytes(n, k, workers int64) int64 {
	return (n+4095)/4096*k*k*4 + workers*4096*k*4
}

func ialsMemory(s algo.Shape, p algo.Params) int64 {
	k := kOf(p, DefaultIALSConfig().NComponents)
	kp := int64(cgPad(int(k)))
	U, I, W := int64(s.Users), int64(s.Items), int64(max(s.Workers, 1))
	f := (U + I) * k * 4
	copies := int64(1)
	if s.Heldout > 0 {
		copies = 3 // model, best snapshot, restored clone
	}
	b := s.TransposeBytes() + 8*s.NNZ + copies*f + max(U, I)*k*4 // Xᵀ, confidences, factors, otherᵀ
	// Per worker four row scratches (lockstep CG: gathered rows up to
	// gatherMax floats with growth slack, CG vectors) and the group's
	// vectors; α₀G in float64, float32 and packed in panels.
	b += W*(4*(5*int64(gatherMax)+24*kp)+8*kp+8*k*k) + 8*k*k + 4*kp*kp + 4*k*kp
	b += gramBytes(max(U, I), k, W)
	b += s.EvalBytes((I + 16) * k * 4)
	if s.Heldout == 0 {
		b += factorArtifact(s, k)
	}
	return b
}

func svdMemory(s algo.Shape, p algo.Params) int64 {
	c := DefaultSVDConfig()
	U, I := int64(s.Users), int64(s.Items)
	k := min(kOf(p, c.NComponents), max(I-1, 1))
	l := k + int64(c.Oversamples)
	var b int64
	if l >= min(U, I) {
		b = 3 * 8 * U * I // the dense path factors X itself
	} else {
		b = s.TransposeBytes() + 8*l*(3*U+4*I) + 4*8*l*l
	}
	b += 8*U*k + 2*8*I*k + (U+I)*k*4 // z, V_k, float32 factors
	b += s.EvalBytes((I + 16) * k * 4)
	if s.Heldout == 0 {
		b += factorArtifact(s, k)
	}
	return b
}

func bprMemory(s algo.Shape, p algo.Params) int64 {
	k := kOf(p, DefaultBPRFMConfig().NComponents)
	U, I := int64(s.Users), int64(s.Items)
	state := 2*(U+I)*k*4 + 2*4*I // factors and their AdaGrad sums, biases
	copies := int64(1)
	if s.Heldout > 0 {
		copies = 3
	}
	b := copies*state + 8*s.NNZ + int64(max(s.Workers, 1))*8*k
	b += s.EvalBytes((I+16)*k*4 + 4*I)
	if s.Heldout == 0 {
		b += factorArtifact(s, k)
	}
	return b
}
