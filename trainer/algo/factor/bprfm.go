package factor

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/recotem/recotem/trainer/algo"
	"github.com/recotem/recotem/trainer/sparse"
)

// BPRFMConfig holds BPRFM hyperparameters (algorithms.md §2.7 (b)).
type BPRFMConfig struct {
	NComponents  int
	ItemAlpha    float64
	UserAlpha    float64
	Loss         BPRLoss
	LearningRate float64
	MaxSampled   int
	TrainEpochs  int
	Seed         int64
}

// DefaultBPRFMConfig returns the §2.7 (b) defaults.
func DefaultBPRFMConfig() BPRFMConfig {
	return BPRFMConfig{NComponents: 128, ItemAlpha: 1e-9, UserAlpha: 1e-9, Loss: LossBPR,
		LearningRate: 0.05, MaxSampled: 10, TrainEpochs: 128, Seed: 42}
}

var bprAccepts = []string{"n_components", "item_alpha", "user_alpha", "loss", "train_epochs", "random_seed"}

func (c BPRFMConfig) validate() error {
	bad := func(name string, v any, why string) error { return paramErr("BPRFM", name, v, why) }
	switch {
	case c.NComponents < 1:
		return bad("n_components", c.NComponents, "must be ≥ 1")
	case !(c.ItemAlpha >= 0):
		return bad("item_alpha", c.ItemAlpha, "must be ≥ 0")
	case !(c.UserAlpha >= 0):
		return bad("user_alpha", c.UserAlpha, "must be ≥ 0")
	case int(c.Loss) >= len(bprLossNames):
		return bad("loss", c.Loss, `want "bpr" or "warp"`)
	case !(c.LearningRate > 0):
		return bad("learning_rate", c.LearningRate, "must be > 0")
	case c.MaxSampled < 1:
		return bad("max_sampled", c.MaxSampled, "must be ≥ 1")
	case c.TrainEpochs < 0:
		return bad("train_epochs", c.TrainEpochs, "must be ≥ 0")
	}
	return nil
}

// BPRFM is LightFM-style matrix factorisation with item biases trained by
// BPR or WARP SGD with per-parameter Adagrad (§2.7). Training is sequential
// and deterministic for a seed. It implements algo.Iterative.
type BPRFM struct {
	cfg        BPRFMConfig
	x          *sparse.CSR
	users      []int32 // user of each stored pair (aligned with x.Indices)
	order      []int32 // shuffled pair order (reused)
	p, q, b    []float32
	gp, gq, gb []float32 // Adagrad accumulators
	pcg        *rand.PCG
	rng        *rand.Rand
	epochs     int
}

// NewBPRFM returns an unfitted BPRFM.
func NewBPRFM(cfg BPRFMConfig) (*BPRFM, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &BPRFM{cfg: cfg}, nil
}

// Fit runs Init then cfg.TrainEpochs epochs.
func (m *BPRFM) Fit(ctx context.Context, X *sparse.CSR) error {
	if err := m.Init(X); err != nil {
		return err
	}
	for range m.cfg.TrainEpochs {
		if err := m.Epoch(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Init draws p, q ~ Uniform(−0.5, 0.5)/k, zero biases, Adagrad accumulators 1.
func (m *BPRFM) Init(X *sparse.CSR) error {
	k := m.cfg.NComponents
	m.x = X
	m.pcg = rand.NewPCG(uint64(m.cfg.Seed), 3)
	m.rng = rand.New(m.pcg)
	uni := func(n int) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = float32((m.rng.Float64() - 0.5) / float64(k))
		}
		return out
	}
	m.p, m.q = uni(X.Rows*k), uni(X.Cols*k)
	m.b = make([]float32, X.Cols)
	ones := func(n int) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = 1
		}
		return out
	}
	m.gp, m.gq, m.gb = ones(X.Rows*k), ones(X.Cols*k), ones(X.Cols)
	m.users = make([]int32, X.NNZ())
	for u := 0; u < X.Rows; u++ {
		for p := X.Indptr[u]; p < X.Indptr[u+1]; p++ {
			m.users[p] = int32(u)
		}
	}
	m.order = make([]int32, X.NNZ())
	m.epochs = 0
	return nil
}

// isPositive reports whether item j is in user u's row (binary search).
func (m *BPRFM) isPositive(u int, j int32) bool {
	idx, _ := m.x.Row(u)
	_, ok := slices.BinarySearch(idx, j)
	return ok
}

// Epoch runs one shuffled pass over the stored pairs.
func (m *BPRFM) Epoch(ctx context.Context) error {
	if m.x == nil {
		return ErrNotFitted
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	k := m.cfg.NComponents
	nnz := m.x.NNZ()
	nI := m.x.Cols
	for i := range m.order {
		m.order[i] = int32(i)
	}
	m.rng.Shuffle(nnz, func(a, b int) { m.order[a], m.order[b] = m.order[b], m.order[a] })
	lr := float32(m.cfg.LearningRate)
	decayP := float32(1 - m.cfg.LearningRate*m.cfg.UserAlpha)
	decayQ := float32(1 - m.cfg.LearningRate*m.cfg.ItemAlpha)
	du := make([]float32, k)
	for step, e := range m.order {
		if step&4095 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		u := int(m.users[e])
		i := m.x.Indices[e]
		pu := m.p[u*k : (u+1)*k]
		qi := m.q[int(i)*k : (int(i)+1)*k]
		yi := dot(pu, qi) + m.b[i]
		var j int32 = -1
		var g float32
		switch m.cfg.Loss {
		case LossBPR:
			for range nnz {
				c := m.x.Indices[m.rng.IntN(nnz)]
				if !m.isPositive(u, c) {
					j = c
					break
				}
			}
			if j < 0 {
				continue
			}
			qj := m.q[int(j)*k : (int(j)+1)*k]
			yj := dot(pu, qj) + m.b[j]
			g = float32(1 - sigmoid(float64(yi-yj)))
		case LossWARP:
			for n := 1; n <= m.cfg.MaxSampled; n++ {
				c := int32(m.rng.IntN(nI))
				if m.isPositive(u, c) {
					continue
				}
				qc := m.q[int(c)*k : (int(c)+1)*k]
				if dot(pu, qc)+m.b[c] > yi-1 {
					j = c
					g = float32(min(10, math.Log(math.Max(1, math.Floor(float64(nI-1)/float64(n))))))
					break
				}
			}
			if j < 0 || g == 0 {
				continue
			}
		}
		qj := m.q[int(j)*k : (int(j)+1)*k]
		// Gradients from the old values: ∂/∂q_i = g·p_u, ∂/∂q_j = −g·p_u,
		// ∂/∂p_u = g·(q_i − q_j), biases ±g. Ascent with Adagrad steps.
		gpu, gqi, gqj := m.gp[u*k:(u+1)*k], m.gq[int(i)*k:(int(i)+1)*k], m.gq[int(j)*k:(int(j)+1)*k]
		for d := 0; d < k; d++ {
			du[d] = g * (qi[d] - qj[d])
		}
		for d := 0; d < k; d++ {
			gr := g * pu[d]
			qi[d] += lr / sqrt32(gqi[d]) * gr
			gqi[d] += gr * gr
			qj[d] -= lr / sqrt32(gqj[d]) * gr
			gqj[d] += gr * gr
		}
		for d := 0; d < k; d++ {
			gr := du[d]
			pu[d] += lr / sqrt32(gpu[d]) * gr
			gpu[d] += gr * gr
		}
		m.b[i] += lr / sqrt32(m.gb[i]) * g
		m.gb[i] += g * g
		m.b[j] -= lr / sqrt32(m.gb[j]) * g
		m.gb[j] += g * g
		if decayP != 1 || decayQ != 1 {
			for d := 0; d < k; d++ {
				pu[d] *= decayP
				qi[d] *= decayQ
				qj[d] *= decayQ
			}
		}
	}
	m.epochs++
	return nil
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// Model returns the factor model with item biases (fold-in: mean of seed rows).
func (m *BPRFM) Model() *algo.Model {
	if m.x == nil {
		return nil
	}
	return &algo.Model{
		Kind: algo.KindFactor, NUsers: m.x.Rows, NItems: m.x.Cols, K: m.cfg.NComponents,
		UserFactors: m.p, ItemFactors: m.q, ItemBias: m.b, FoldIn: algo.FoldIn{Method: "mean"},
	}
}

type bprSnapshot struct {
	p, q, b, gp, gq, gb []float32
	rng                 []byte
	epochs              int
}

// Snapshot copies parameters, Adagrad state and the RNG state.
func (m *BPRFM) Snapshot() any {
	st, _ := m.pcg.MarshalBinary()
	return &bprSnapshot{slices.Clone(m.p), slices.Clone(m.q), slices.Clone(m.b),
		slices.Clone(m.gp), slices.Clone(m.gq), slices.Clone(m.gb), st, m.epochs}
}

// Restore puts back a Snapshot of this recommender.
func (m *BPRFM) Restore(s any) {
	sn := s.(*bprSnapshot)
	m.p, m.q, m.b = slices.Clone(sn.p), slices.Clone(sn.q), slices.Clone(sn.b)
	m.gp, m.gq, m.gb = slices.Clone(sn.gp), slices.Clone(sn.gq), slices.Clone(sn.gb)
	_ = m.pcg.UnmarshalBinary(sn.rng)
	m.epochs = sn.epochs
}
