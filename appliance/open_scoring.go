package appliance

import (
	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/scoring"
)

// openScoring is the production openFunc: verify and map the artifact with
// format.Open, then build the scoring views over it (no copies).
func openScoring(path string, ring *format.KeyRing, lim format.Limits) (*opened, error) {
	art, err := format.Open(path, ring, lim)
	if err != nil {
		return nil, err
	}
	// The artifact's model.q8 flag and size choose the first pass.
	m, err := scoring.Load(art, scoring.Options{})
	if err != nil {
		_ = art.Close()
		return nil, withStage("deserialize", err)
	}
	return &opened{model: m, kid: art.Kid, fields: art.Header.Fields, sha: art.SHA256, path: art.Path, close: art.Close}, nil
}
