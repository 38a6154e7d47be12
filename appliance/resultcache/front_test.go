package resultcache

import (
	"reflect"
	"testing"

	"github.com/VictoriaMetrics/metrics"

	"github.com/recotem/recotem/scoring"
)

// countingRanker ranks user u's items as u*100+i and counts its calls.
type countingRanker struct{ single, batch, batchUsers int }

func (r *countingRanker) Recommend(dst []scoring.Result, u, limit int, exclude []int32) []scoring.Result {
	r.single++
	return rank(dst[:0], u, limit, len(exclude))
}

func (r *countingRanker) BatchRecommend(dst [][]scoring.Result, users []int, limit int) [][]scoring.Result {
	r.batch++
	r.batchUsers += len(users)
	dst = dst[:0]
	for _, u := range users {
		dst = append(dst, rank(nil, u, limit, 0))
	}
	return dst
}

func rank(dst []scoring.Result, u, limit, skip int) []scoring.Result {
	for i := range limit {
		dst = append(dst, scoring.Result{Item: int32(u*100 + i + skip), Score: float32(limit - i)})
	}
	return dst
}

// TestFront: repeated requests are answered from the cache with the
// ranker's answer; exclusions and limits over Width always go to the
// ranker; a batch ranks only its misses, in one call.
func TestFront(t *testing.T) {
	set := metrics.NewSet()
	r := &countingRanker{}
	f := &Front{Ranker: r, Cache: New(100, 1<<20), Hit: set.NewCounter("hit"), Miss: set.NewCounter("miss")}
	want := rank(nil, 7, 10, 0)
	for range 3 {
		if got := f.Recommend(nil, 7, 10, nil); !reflect.DeepEqual(got, want) {
			t.Fatalf("got %v", got)
		}
	}
	if r.single != 1 || f.Hit.Get() != 2 || f.Miss.Get() != 1 {
		t.Fatalf("calls %d, hits %d, misses %d", r.single, f.Hit.Get(), f.Miss.Get())
	}
	f.Recommend(nil, 7, 10, []int32{1})
	f.Recommend(nil, 7, Width+1, nil)
	if r.single != 3 {
		t.Fatalf("exclusions or wide limits were cached: %d calls", r.single)
	}
	got := f.BatchRecommend(nil, []int{7, 8, 9}, 10)
	if r.batch != 1 || r.batchUsers != 2 {
		t.Fatalf("batch ranked %d users in %d calls, want the 2 misses in 1", r.batchUsers, r.batch)
	}
	for i, u := range []int{7, 8, 9} {
		if !reflect.DeepEqual(got[i], rank(nil, u, 10, 0)) {
			t.Fatalf("user %d: %v", u, got[i])
		}
	}
	f.BatchRecommend(got, []int{8, 9}, 10)
	if r.batch != 1 {
		t.Fatal("a fully cached batch called the ranker")
	}
	f.BatchRecommend(nil, []int{8}, Width+1)
	if r.batch != 2 {
		t.Fatal("a wide batch was cached")
	}
}
