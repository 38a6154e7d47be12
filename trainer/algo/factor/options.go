package factor

import "strconv"

// Enumerated hyperparameters, parsed once from their spelling in the
// search space (algo.Choice, case-insensitive) into typed constants; the
// fits switch on the constants, never on strings. The zero value of each is
// its default. String gives the spelling back (artifact header, errors).

// IALSSolver is IALS solver_type (algorithms.md §2.2): how each row's
// normal equations are solved.
type IALSSolver uint8

const (
	SolverCG       IALSSolver = iota // "CG": conjugate gradient, max_cg_steps steps (default)
	SolverCholesky                   // "CHOLESKY": exact Cholesky solve
)

var solverNames = []string{"CG", "CHOLESKY"}

func (s IALSSolver) String() string { return spell(solverNames, uint8(s)) }

// IALSLoss is IALS loss_type (§2.2): IALS++'s regularised loss or the
// original weighted loss.
type IALSLoss uint8

const (
	LossIALSPP   IALSLoss = iota // "IALSPP" (default)
	LossOriginal                 // "ORIGINAL": adds α₀ to the diagonal
)

var lossNames = []string{"IALSPP", "ORIGINAL"}

func (l IALSLoss) String() string { return spell(lossNames, uint8(l)) }

// IALSConfidence is IALS confidence_scaling (§2.2): the confidence of an
// observed interaction of value x.
type IALSConfidence uint8

const (
	ConfidenceNone IALSConfidence = iota // "none": x (default)
	ConfidenceLog                        // "log": log(1 + x/epsilon)
)

var confidenceNames = []string{"none", "log"}

func (c IALSConfidence) String() string { return spell(confidenceNames, uint8(c)) }

// BPRLoss is BPRFM loss (§2.7): the pairwise loss its SGD samples for.
type BPRLoss uint8

const (
	LossBPR  BPRLoss = iota // "bpr": one sampled negative per positive (default)
	LossWARP                // "warp": sample until a violating negative, rank-weighted
)

var bprLossNames = []string{"bpr", "warp"}

func (l BPRLoss) String() string { return spell(bprLossNames, uint8(l)) }

func spell(names []string, v uint8) string {
	if int(v) < len(names) {
		return names[v]
	}
	return "invalid(" + strconv.Itoa(int(v)) + ")"
}
