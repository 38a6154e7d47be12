package appliance

import (
	"time"

	"github.com/recotem/recotem/appliance/registry"
	"github.com/recotem/recotem/appliance/reqbody"
)

// request is the pooled per-request scratch state: the parsed body, what
// the route matched, and the buffers ranking and writing reuse. Nothing in
// it survives the handler; reset keeps capacities.
type request struct {
	reqbody.Request
	rid   []byte
	name  []byte    // the recipe named by the path (aliases the path)
	verb  int       // telemetry.Verb*, or -1 outside the v1 verbs
	v1    bool      // the route is on the /v1 surface (error shapes)
	start time.Time // for the latency histograms (zero without metrics)

	excludeIdx []int32
	seedIdx    []int32
	hits       []registry.Hit
	out        []byte
	res        []elemResult // batch: one per element
	batchUsers []int
	batchOut   [][]registry.Hit
}

// elemResult is one batch element's outcome before it is written.
type elemResult struct {
	code  string
	msg   string
	dyn   []byte         // dotted validation message
	hits  []registry.Hit // ranked individually (related, exclude_items)
	batch int            // index into batchUsers, or -1
	limit int
}

func (r *request) reset() {
	r.Request.Reset()
	r.name = nil
	r.verb = -1
	r.v1 = false
	r.start = time.Time{}
	r.excludeIdx = r.excludeIdx[:0]
	r.seedIdx = r.seedIdx[:0]
	r.hits = r.hits[:0]
	r.out = r.out[:0]
}
