package appliance

import (
	"encoding/json"
	"sync/atomic"
	"time"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/scoring"
)

// Hit is one ranked item: its index in the model and its score.
type Hit = scoring.Result

// Model is what the appliance needs from a scoring model. The scoring
// package's *Model satisfies it through a (open_scoring.go).
type Model interface {
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

// opened is a verified artifact with its model, before the registry wraps it.
type opened struct {
	model  Model
	kid    string
	fields map[string]json.RawMessage
	sha    [32]byte
	path   string // resolved artifact file
	close  func() error
	// art holds the verified bytes (nil for models that are not backed by
	// an artifact, in tests); the guard watches and copies it (guard.go).
	art *format.Artifact
}

// openFunc opens path (a pointer or an artifact) with the ring (nil: no
// HMAC check), limits and residency. The default is openScoring.
type openFunc func(path string, ring *format.KeyRing, lim format.Limits, want format.Residency) (*opened, error)

// loaded is one model as served: reference counted (see doc.go).
type loaded struct {
	refs atomic.Int64
	opened
	metaFrags    [][]byte // per item index: `"k":v,` pairs, nil when none
	metaDegraded []bool   // per item: metadata exists but failed to serialize
	hasMeta      bool
	cacheBytes   int64 // result cache reserved for this model (0: none)
	trainedAt    string
	bestClass    string
	version      string // "sha256:<hex>"
	versionB     []byte
	loadedAt     time.Time
	rehomed      bool        // a private copy the guard took when the file changed
	faulted      atomic.Bool // a request faulted on this model's mapping
	// precomputed response fragments
	legacyModel []byte // {"recipe":..,"trained_at":..,"best_class":..,"kid":..}
	v1Prefix    []byte // ,"recipe":"..","model_version":"..",
}

// acquire takes a reference, or reports false when l is already retired.
func (l *loaded) acquire() bool {
	for {
		n := l.refs.Load()
		if n <= 0 {
			return false
		}
		if l.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release drops a reference; the last one closes the mapping.
func (l *loaded) release() {
	if n := l.refs.Add(-1); n == 0 {
		if l.close != nil {
			_ = l.close()
		}
	} else if n < 0 {
		panic("appliance: model released more often than acquired")
	}
}
