package search

import (
	"context"
	"math"

	"github.com/recotem/recotem/trainer/algo"
)

// Early-stopping defaults used by Recotem (irspack's base loop,
// algorithms.md §5.2).
const (
	MaxEpochs     = 128
	ValidateEvery = 5
	Patience      = 5
)

// EarlyStop trains an initialised iterative model (the caller has run
// m.Init) for up to 128 epochs, evaluating every 5. A strictly better score
// snapshots the model and records train_epochs = epoch+1; 5 evaluations
// without improvement stop the loop. After an evaluation that did not stop
// the loop the score is reported at step epoch (4, 9, 14, …) and, if the
// median pruner says so, EarlyStop returns ErrPruned. Finally the best
// snapshot is restored, the attribute "train_epochs" is set to bestEpoch
// and the best score is returned. t may be nil (no reporting, no pruning).
func EarlyStop(ctx context.Context, t TrialContext, m algo.Iterative, eval func() (float64, error)) (best float64, bestEpoch int, err error) {
	best = math.Inf(-1)
	var snap any
	bad := 0
	for e := range MaxEpochs {
		if err := ctx.Err(); err != nil {
			return best, bestEpoch, err
		}
		if err := m.Epoch(ctx); err != nil {
			return best, bestEpoch, err
		}
		if (e+1)%ValidateEvery != 0 {
			continue
		}
		s, err := eval()
		if err != nil {
			return best, bestEpoch, err
		}
		if s > best {
			best, bestEpoch, bad = s, e+1, 0
			snap = m.Snapshot()
		} else {
			bad++
			if bad >= Patience {
				break
			}
		}
		if t != nil && t.Report(e, s) {
			return best, bestEpoch, ErrPruned
		}
	}
	if snap != nil {
		m.Restore(snap)
	}
	if t != nil {
		t.SetAttr("train_epochs", bestEpoch)
	}
	return best, bestEpoch, nil
}
