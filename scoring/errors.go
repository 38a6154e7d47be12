package scoring

import "errors"

// Sentinels of RecommendRelated; the appliance maps them to its 404 codes.
var (
	// ErrUnknownSeeds: every seed index is outside [0, NumItems).
	ErrUnknownSeeds = errors.New("no known seed_items")
	// ErrNoCandidates: seeds are known but nothing is left to rank.
	ErrNoCandidates = errors.New("no candidates produced by ranker")
	// ErrFoldIn: the IALS fold-in solve broke down (pᵀAp not positive and finite).
	ErrFoldIn = errors.New("fold-in solve failed")
	// ErrModel: the artifact's model description or sections are unusable.
	ErrModel = errors.New("model sections invalid")
)

// ModelError says which part of an artifact's model description is wrong.
// It unwraps to ErrModel.
type ModelError struct {
	Section string // section or header key
	Detail  string
}

func (e *ModelError) Error() string {
	return "model sections invalid: " + e.Section + ": " + e.Detail
}

func (e *ModelError) Unwrap() error { return ErrModel }
