package itemitem

import (
	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/trainer/algo"
)

// Memory bounds (algo.Spec.Memory) of the item-based models. The sparse
// ones are bounded by design: one dense accumulator row per worker
// (O(workers·items)) and top_k kept entries per item, never an items×items
// intermediate; DenseSLIM is items² by definition and is refused by the
// trainer where that does not fit.

// keptEntry bounds the bytes of one kept similarity entry: int32 index and
// float32 value in the worker's block (with append's growth slack) and
// again in the concatenated CSR.
const keptEntry = 24

func topKOf(p algo.Params, items int) int64 {
	k := algo.NewParamReader("", p).Int("top_k", 100)
	return int64(min(max(k, 1), max(items, 1)))
}

func cosineMemory(s algo.Shape, p algo.Params) int64 {
	I, W := int64(s.Items), int64(max(s.Workers, 1))
	b := s.TransposeBytes() + 8*s.NNZ + 16*I // Xᵀ, weighted values, norms
	b += W * 29 * I                          // accumulator (value, seen, touched) and candidates
	b += keptEntry*I*topKOf(p, s.Items) + 8*I
	return b + s.EvalBytes(0)
}

func rp3Memory(s algo.Shape, p algo.Params) int64 {
	U, I, W := int64(s.Users), int64(s.Items), int64(max(s.Workers, 1))
	b := s.TransposeBytes() + 2*8*s.NNZ + 8*U + 4*8*I // Xᵀ, X^α both ways, degrees, popularity, scales
	b += W * 29 * I
	b += (keptEntry+12)*I*topKOf(p, s.Items) + 16*I // column blocks (int32 + float64) and the row CSR
	return b + s.EvalBytes(0)
}

func denseSLIMMemory(s algo.Shape, _ algo.Params) int64 {
	I, W := int64(s.Items), int64(max(s.Workers, 1))
	b := 4*I*I + s.TransposeBytes() + 8*I         // the items×items matrix, Xᵀ, diagonal
	b += W * (spdRowTile*spdNB*4 + spdNB*spdNB*4) // panel tiles
	if s.Heldout == 0 {
		b += 4 * I * int64(format.Stride32(s.Items)) // the artifact's row-padded copy
	}
	return b + s.EvalBytes(0)
}

func topPopMemory(s algo.Shape, _ algo.Params) int64 {
	return 16*int64(s.Items) + s.EvalBytes(0)
}
