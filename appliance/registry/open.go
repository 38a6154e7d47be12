package registry

import (
	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/scoring"
)

// openScoring verifies and maps (or copies) the artifact at path (a pointer
// or an artifact) with format.OpenAs, then builds the scoring views over
// it. A nil ring skips the HMAC check.
func openScoring(path string, ring *format.KeyRing, lim format.Limits, want format.Residency) (*opened, error) {
	art, err := format.OpenAs(path, ring, lim, want)
	if err != nil {
		return nil, err
	}
	return scoringOver(art)
}

// scoringOver builds the scoring views over an open artifact (no copies);
// on failure it closes art.
func scoringOver(art *format.Artifact) (*opened, error) {
	// The artifact's model.q8 flag and size choose the first pass.
	m, err := scoring.Load(art, scoring.Options{})
	if err != nil {
		_ = art.Close()
		return nil, withStage("deserialize", err)
	}
	return &opened{scorer: m, kid: art.Kid, fields: art.Header.Fields, sha: art.SHA256, path: art.Path, close: art.Close, art: art}, nil
}
