package registry

import (
	"encoding/json"
	"sync/atomic"
	"time"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/scoring"
)

// Hit is one ranked item: its index in the model and its score.
type Hit = scoring.Result

// Scorer is what serve needs from a scoring model. The scoring package's
// *Model satisfies it (open.go).
type Scorer interface {
	Kind() string
	NumUsers() int
	NumItems() int
	UserIndex(id []byte) (int, bool)
	ItemIndex(id []byte) (int, bool)
	ItemID(i int) []byte
	// Recommend appends the top limit items for user u to dst[:0]: seen
	// items and exclude are masked, ties go to the lower index.
	Recommend(dst []Hit, u, limit int, exclude []int32) []Hit
	// RecommendRelated ranks for a seed profile; seeds are masked. It
	// returns scoring.ErrNoCandidates when nothing can be ranked.
	RecommendRelated(dst []Hit, seeds []int32, limit int, exclude []int32) ([]Hit, error)
	// BatchRecommend ranks many known users at once (Recommend's rules, no
	// exclusions); factor models share one blocked matrix product.
	BatchRecommend(dst [][]Hit, users []int, limit int) [][]Hit
}

// opened is a verified artifact with its scorer, before it becomes a Model.
type opened struct {
	scorer Scorer
	kid    string
	fields map[string]json.RawMessage
	sha    [32]byte
	path   string // resolved artifact file (an object store's URI)
	close  func() error
	// art holds the verified bytes (nil for models that are not backed by
	// an artifact, in tests); the guard watches and copies it (guard.go).
	art *format.Artifact
}

// Model is one model as served: reference counted (see the package doc).
// The exported fields are set before it is published and never change.
type Model struct {
	Scorer    Scorer                     // the artifact's scorer, behind the result cache when one is configured
	Kid       string                     // the signing key id (format.SafeKid before logging it)
	Header    map[string]json.RawMessage // the artifact's header fields
	Version   string                     // "sha256:<hex>" of the artifact file
	VersionB  []byte                     // Version as bytes (response headers)
	TrainedAt string                     // header trained_at ("" when absent)
	BestClass string                     // header best_class
	LoadedAt  time.Time                  // UTC; a private copy keeps its mapping's
	// LegacyJSON and V1Prefix are the fixed parts of this model's answers:
	// {"recipe":..,"trained_at":..,"best_class":..,"kid":..} and
	// ,"recipe":"..","model_version":"..".
	LegacyJSON []byte
	V1Prefix   []byte

	refs         atomic.Int64
	sha          [32]byte
	path         string
	close        func() error
	art          *format.Artifact
	metaFrags    [][]byte // per item index: `"k":v,` pairs, nil when none
	metaDegraded []bool   // per item: metadata exists but failed to serialize
	hasMeta      bool
	cacheBytes   int64       // result cache reserved for this model (0: none)
	rehomed      bool        // a private copy the guard took when the file changed
	faulted      atomic.Bool // a request faulted on this model's mapping
}

// HasMeta reports whether the recipe joins item metadata.
func (m *Model) HasMeta() bool { return m.hasMeta }

// Meta returns item i's metadata fragment (`"k":v,` pairs, nil when it has
// none) and whether its metadata exists but could not be serialised (the
// item is then sent bare). Only valid when HasMeta.
func (m *Model) Meta(i int32) ([]byte, bool) { return m.metaFrags[i], m.metaDegraded[i] }

// acquire takes a reference, or reports false when m is already retired.
func (m *Model) acquire() bool {
	for {
		n := m.refs.Load()
		if n <= 0 {
			return false
		}
		if m.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Release drops a reference; the last one closes the mapping.
func (m *Model) Release() {
	if n := m.refs.Add(-1); n == 0 {
		if m.close != nil {
			_ = m.close()
		}
	} else if n < 0 {
		panic("registry: model released more often than acquired")
	}
}
