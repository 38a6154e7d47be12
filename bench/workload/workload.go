// Package workload owns what the load generator sends: the endpoint mix
// over recipes (Workload, Endpoint), the id tables requests draw users and
// seed items from (IDs: read from files, a verified artifact or a numeric
// range, each id quoted once), how ids are drawn (Sampler: uniform, or Zipf
// over a seeded permutation), each worker's random source (Rand), and the
// request paths and JSON bodies built from them (Compiled), which append
// into a caller's buffer and never allocate. It knows nothing of
// connections, schedules or statistics: package bench drives it.
package workload

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Endpoint is one API verb the generator drives (recotem-behavior.md §6.3,
// §6.4).
type Endpoint uint8

const (
	// Predict is POST /predict/{name} {"user_id","cutoff"}.
	Predict Endpoint = iota
	// Recommend is POST /v1/recipes/{name}:recommend {"user_id","limit"}.
	Recommend
	// Related is POST /v1/recipes/{name}:recommend-related {"seed_items","limit"}.
	Related
	// Batch is POST /v1/recipes/{name}:batch-recommend {"requests":[{"user_id","limit"},…]}.
	Batch
	// BatchRelated is POST /v1/recipes/{name}:batch-recommend-related.
	BatchRelated
	numEndpoints
)

var endpointNames = [numEndpoints]string{"predict", "recommend", "related", "batch", "batch-related"}

func (e Endpoint) String() string {
	if e < numEndpoints {
		return endpointNames[e]
	}
	return "endpoint(" + strconv.Itoa(int(e)) + ")"
}

// ParseEndpoint parses predict, recommend, related, batch or batch-related.
func ParseEndpoint(s string) (Endpoint, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for i, n := range endpointNames {
		if s == n {
			return Endpoint(i), nil
		}
	}
	return 0, configErr("unknown endpoint %q (want predict, recommend, related, batch or batch-related)", s)
}

func (e Endpoint) usesItems() bool { return e == Related || e == BatchRelated }

// Workload says what the generator sends. Each request picks a recipe and an
// endpoint uniformly from the lists (repeat an entry to weight it), then
// draws its users or seed items from Users or Items with Dist.
type Workload struct {
	Recipes   []string   // at least one
	Endpoints []Endpoint // at least one
	Users     *IDs       // required by Predict, Recommend, Batch
	Items     *IDs       // required by Related, BatchRelated
	Dist      Dist       // Uniform or Zipf
	ZipfS     float64    // Zipf exponent; 0 means 1.0
	Limit     int        // cutoff/limit per (sub)request; 0 means 10
	Seeds     int        // seed items per related (sub)request; 0 means 1
	BatchSize int        // sub-requests per batch call; 0 means 8
	Seed      uint64     // seeds the Zipf permutation and the workers' random sources
}

// Compiled is a Workload with every constant byte prepared. It is
// immutable and safe for concurrent use; each goroutine passes its own Rand.
type Compiled struct {
	recipes   []string // path-escaped
	endpoints []Endpoint
	users     *IDs
	items     *IDs
	userS     *Sampler
	itemS     *Sampler
	limit     []byte // decimal
	seeds     int
	batch     int
}

// Compile checks w, applies its defaults and prepares its paths, samplers
// and constant body bytes. Errors are ErrConfig or ErrNoIDs.
func Compile(w Workload) (*Compiled, error) {
	c := &Compiled{endpoints: w.Endpoints, users: w.Users, items: w.Items}
	if len(w.Recipes) == 0 {
		return nil, configErr("no recipe")
	}
	for _, r := range w.Recipes {
		if r == "" {
			return nil, configErr("empty recipe name")
		}
		c.recipes = append(c.recipes, url.PathEscape(r))
	}
	if len(w.Endpoints) == 0 {
		return nil, configErr("no endpoint")
	}
	limit := w.Limit
	if limit == 0 {
		limit = 10
	}
	if limit < 1 || limit > 1000 {
		return nil, configErr("limit %d out of range 1..1000", limit)
	}
	c.limit = strconv.AppendInt(nil, int64(limit), 10)
	c.seeds = w.Seeds
	if c.seeds == 0 {
		c.seeds = 1
	}
	if c.seeds < 1 || c.seeds > 100 {
		return nil, configErr("seed items per request %d out of range 1..100", c.seeds)
	}
	c.batch = w.BatchSize
	if c.batch == 0 {
		c.batch = 8
	}
	if c.batch < 1 || c.batch > 256 {
		return nil, configErr("batch size %d out of range 1..256", c.batch)
	}
	s := w.ZipfS
	if s == 0 {
		s = 1
	}
	var needU, needI bool
	for _, e := range w.Endpoints {
		if e >= numEndpoints {
			return nil, configErr("unknown endpoint %d", e)
		}
		if e.usesItems() {
			needI = true
		} else {
			needU = true
		}
	}
	mk := func(x *IDs, salt uint64) (*Sampler, error) {
		if w.Dist == Zipf {
			return NewZipfSampler(x.Len(), s, w.Seed^salt)
		}
		return NewUniformSampler(x.Len())
	}
	var err error
	if needU {
		if w.Users == nil || w.Users.Len() == 0 {
			return nil, fmt.Errorf("%w: endpoint needs user ids", ErrNoIDs)
		}
		if c.userS, err = mk(w.Users, 0x75736572); err != nil {
			return nil, err
		}
	}
	if needI {
		if w.Items == nil || w.Items.Len() == 0 {
			return nil, fmt.Errorf("%w: endpoint needs item ids", ErrNoIDs)
		}
		if c.itemS, err = mk(w.Items, 0x6974656d); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Routes is the number of routes: len(Recipes) × the number of endpoints.
// Pick returns indexes into [0, Routes).
func (c *Compiled) Routes() int { return len(c.recipes) * int(numEndpoints) }

// Path is the request path of route, without a prefix.
func (c *Compiled) Path(route int) string {
	return c.path(route/int(numEndpoints), Endpoint(route%int(numEndpoints)))
}

// path is the request path of endpoint e on recipe r, without a prefix.
func (c *Compiled) path(r int, e Endpoint) string {
	name := c.recipes[r]
	switch e {
	case Predict:
		return "/predict/" + name
	case Recommend:
		return "/v1/recipes/" + name + ":recommend"
	case Related:
		return "/v1/recipes/" + name + ":recommend-related"
	case Batch:
		return "/v1/recipes/" + name + ":batch-recommend"
	case BatchRelated:
		return "/v1/recipes/" + name + ":batch-recommend-related"
	}
	return ""
}

// Pick draws the route of the next request, an index into [0, Routes),
// and its endpoint.
func (c *Compiled) Pick(r *Rand) (route int, e Endpoint) {
	ri := 0
	if len(c.recipes) > 1 {
		ri = r.Intn(len(c.recipes))
	}
	e = c.endpoints[0]
	if len(c.endpoints) > 1 {
		e = c.endpoints[r.Intn(len(c.endpoints))]
	}
	return ri*int(numEndpoints) + int(e), e
}

// AppendBody appends the JSON body of one request of endpoint e, drawing
// its ids with r.
func (c *Compiled) AppendBody(dst []byte, r *Rand, e Endpoint) []byte {
	switch e {
	case Predict:
		dst = append(dst, `{"user_id":`...)
		dst = append(dst, c.users.Quoted(c.userS.draw(r))...)
		dst = append(dst, `,"cutoff":`...)
		dst = append(dst, c.limit...)
		return append(dst, '}')
	case Recommend:
		return c.appendUser(dst, r)
	case Related:
		return c.appendRelated(dst, r)
	case Batch, BatchRelated:
		dst = append(dst, `{"requests":[`...)
		for i := 0; i < c.batch; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			if e == Batch {
				dst = c.appendUser(dst, r)
			} else {
				dst = c.appendRelated(dst, r)
			}
		}
		return append(dst, "]}"...)
	}
	return dst
}

func (c *Compiled) appendUser(dst []byte, r *Rand) []byte {
	dst = append(dst, `{"user_id":`...)
	dst = append(dst, c.users.Quoted(c.userS.draw(r))...)
	dst = append(dst, `,"limit":`...)
	dst = append(dst, c.limit...)
	return append(dst, '}')
}

func (c *Compiled) appendRelated(dst []byte, r *Rand) []byte {
	dst = append(dst, `{"seed_items":[`...)
	for i := 0; i < c.seeds; i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, c.items.Quoted(c.itemS.draw(r))...)
	}
	dst = append(dst, `],"limit":`...)
	dst = append(dst, c.limit...)
	return append(dst, '}')
}
