package workload

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestReadIDs(t *testing.T) {
	x, err := ReadIDs(strings.NewReader("u1\r\n\n  u2 \nu\"3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if x.Len() != 3 || string(x.Quoted(0)) != `"u1"` || string(x.Quoted(1)) != `"u2"` || string(x.Quoted(2)) != `"u\"3"` {
		t.Fatalf("got %d ids: %s %s %s", x.Len(), x.Quoted(0), x.Quoted(1), x.Quoted(2))
	}
	if _, err := ReadIDs(strings.NewReader("\n \n")); !errors.Is(err, ErrNoIDs) {
		t.Fatalf("empty file: %v", err)
	}
}

type fakeTable []string

func (f fakeTable) Len() int        { return len(f) }
func (f fakeTable) At(i int) []byte { return []byte(f[i]) }

func TestIDsFromTableAndNumeric(t *testing.T) {
	x, err := IDsFromTable(fakeTable{"a", "b"})
	if err != nil || x.Len() != 2 || string(x.Quoted(1)) != `"b"` {
		t.Fatalf("IDsFromTable: %v %v", x, err)
	}
	n, err := NumericIDs(5, 9)
	if err != nil || n.Len() != 5 || string(n.Quoted(0)) != `"5"` || string(n.Quoted(4)) != `"9"` {
		t.Fatalf("NumericIDs: %v", err)
	}
	if _, err := NumericIDs(3, 2); err == nil {
		t.Fatal("empty numeric range accepted")
	}
}

// TestBodiesMatchAPIShapes decodes every endpoint's body strictly into the
// request shapes of recotem-behavior.md §6.3/§6.4.
func TestBodiesMatchAPIShapes(t *testing.T) {
	users := mustIDs(t, "u1", "u2", "u3")
	items := mustIDs(t, "i1", "i2", "i3", "i4")
	type single struct {
		UserID    *string  `json:"user_id"`
		Limit     *int     `json:"limit"`
		Cutoff    *int     `json:"cutoff"`
		SeedItems []string `json:"seed_items"`
	}
	type batch struct {
		Requests []single `json:"requests"`
	}
	decode := func(b []byte, v any) {
		t.Helper()
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Fatalf("body %s: %v", b, err)
		}
	}
	knownUser := func(s *single) {
		t.Helper()
		if s.UserID == nil || !strings.HasPrefix(*s.UserID, "u") {
			t.Fatalf("user_id missing or unknown: %+v", s)
		}
	}
	c, err := Compile(Workload{Recipes: []string{"movies"}, Endpoints: []Endpoint{Predict, Recommend, Related, Batch, BatchRelated},
		Users: users, Items: items, Limit: 7, Seeds: 3, BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	r := NewRand(1)
	for e := Endpoint(0); e < numEndpoints; e++ {
		b := c.AppendBody(nil, &r, e)
		switch e {
		case Predict:
			var s single
			decode(b, &s)
			knownUser(&s)
			if s.Cutoff == nil || *s.Cutoff != 7 || s.Limit != nil {
				t.Fatalf("predict body %s", b)
			}
		case Recommend:
			var s single
			decode(b, &s)
			knownUser(&s)
			if s.Limit == nil || *s.Limit != 7 || s.Cutoff != nil {
				t.Fatalf("recommend body %s", b)
			}
		case Related:
			var s single
			decode(b, &s)
			if len(s.SeedItems) != 3 || s.UserID != nil || *s.Limit != 7 {
				t.Fatalf("related body %s", b)
			}
		case Batch, BatchRelated:
			var bt batch
			decode(b, &bt)
			if len(bt.Requests) != 4 {
				t.Fatalf("batch body %s", b)
			}
			for i := range bt.Requests {
				if e == Batch {
					knownUser(&bt.Requests[i])
				} else if len(bt.Requests[i].SeedItems) != 3 {
					t.Fatalf("batch-related body %s", b)
				}
			}
		}
	}
	wantPaths := map[Endpoint]string{
		Predict:      "/predict/movies",
		Recommend:    "/v1/recipes/movies:recommend",
		Related:      "/v1/recipes/movies:recommend-related",
		Batch:        "/v1/recipes/movies:batch-recommend",
		BatchRelated: "/v1/recipes/movies:batch-recommend-related",
	}
	for e, want := range wantPaths {
		if got := c.path(0, e); got != want {
			t.Fatalf("%v path %q, want %q", e, got, want)
		}
		if got := c.Path(int(e)); got != want {
			t.Fatalf("route %d path %q, want %q", e, got, want)
		}
	}
}

func TestWorkloadMixAndZipfSkew(t *testing.T) {
	users, err := NumericIDs(1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compile(Workload{Recipes: []string{"a", "b"}, Endpoints: []Endpoint{Recommend, Recommend, Predict},
		Users: users, Dist: Zipf, ZipfS: 1.1, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	r := NewRand(2)
	var perRecipe [2]int
	var perEndpoint [numEndpoints]int
	hot := string(users.Quoted(c.userS.IndexOfRank(0)))
	hotCount := 0
	const n = 30000
	for i := 0; i < n; i++ {
		route, e := c.Pick(&r)
		perRecipe[route/int(numEndpoints)]++
		perEndpoint[e]++
		if strings.Contains(string(c.AppendBody(nil, &r, e)), ":"+hot+",") {
			hotCount++
		}
	}
	if perRecipe[0] < n*45/100 || perRecipe[1] < n*45/100 {
		t.Fatalf("recipes drawn %v", perRecipe)
	}
	if perEndpoint[Recommend] < n*62/100 || perEndpoint[Recommend] > n*71/100 || perEndpoint[Predict]+perEndpoint[Recommend] != n {
		t.Fatalf("endpoints drawn %v, want recommend:predict 2:1", perEndpoint)
	}
	want := c.userS.Prob(0) * n
	if float64(hotCount) < want*0.85 || float64(hotCount) > want*1.15 {
		t.Fatalf("hottest user drawn %d times, Zipf says %.0f", hotCount, want)
	}
}

func TestCompileWorkloadErrors(t *testing.T) {
	users := mustIDs(t, "u")
	f := func(w Workload, want error) {
		t.Helper()
		if _, err := Compile(w); !errors.Is(err, want) {
			t.Fatalf("%+v: got %v, want %v", w, err, want)
		}
	}
	f(Workload{Endpoints: []Endpoint{Recommend}, Users: users}, ErrConfig)
	f(Workload{Recipes: []string{"r"}, Users: users}, ErrConfig)
	f(Workload{Recipes: []string{"r"}, Endpoints: []Endpoint{Related}, Users: users}, ErrNoIDs)
	f(Workload{Recipes: []string{"r"}, Endpoints: []Endpoint{Recommend}}, ErrNoIDs)
	f(Workload{Recipes: []string{"r"}, Endpoints: []Endpoint{Recommend}, Users: users, Limit: 1001}, ErrConfig)
	f(Workload{Recipes: []string{"r"}, Endpoints: []Endpoint{Batch}, Users: users, BatchSize: 257}, ErrConfig)
}

func TestParseEndpoint(t *testing.T) {
	for i, n := range endpointNames {
		e, err := ParseEndpoint(strings.ToUpper(n))
		if err != nil || e != Endpoint(i) || e.String() != n {
			t.Fatalf("%q: %v %v", n, e, err)
		}
	}
	if _, err := ParseEndpoint("rank"); !errors.Is(err, ErrConfig) {
		t.Fatal("unknown endpoint accepted")
	}
}

func mustIDs(t testing.TB, ids ...string) *IDs {
	t.Helper()
	b := make([][]byte, len(ids))
	for i, s := range ids {
		b[i] = []byte(s)
	}
	x, err := NewIDs(b)
	if err != nil {
		t.Fatal(err)
	}
	return x
}
