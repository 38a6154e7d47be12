package appliance

import (
	"fmt"
	"strings"
	"testing"

	"github.com/recotem/recotem/appliance/resultcache"
)

// TestResultCacheAnswersWhatTheModelAnswers: with the cache on, every
// /predict, :recommend (with and without exclusions) and :batch-recommend
// answer — first (miss) and second (hit) — is byte for byte the uncached
// server's answer, apart from the request id.
func TestResultCacheAnswersWhatTheModelAnswers(t *testing.T) {
	plain, cached := newBenchEnv(t), newBenchEnv(t, 1<<20)
	cached.plain = plain.plain
	cached.a.cfg.APIKeys = plain.a.cfg.APIKeys
	if _, err := cached.a.configure(); err != nil {
		t.Fatal(err)
	}
	body := func(env *benchEnv, path, req string) string {
		t.Helper()
		ctx := env.ctx(path, req)
		ctx.Request.Header.Set("X-Request-ID", "fixed")
		env.serve(t, ctx, 200)
		return string(ctx.Response.Body())
	}
	var batch []string
	for i := range 60 {
		u := fmt.Sprintf("u%05d", (i*37)%benchUsers)
		lim := []int{1, 10, 20, resultcache.Width, resultcache.Width + 1}[i%5]
		reqs := [][2]string{
			{"/predict/ml", fmt.Sprintf(`{"user_id":%q,"cutoff":%d}`, u, lim)},
			{"/v1/recipes/ml:recommend", fmt.Sprintf(`{"user_id":%q,"limit":%d}`, u, lim)},
			{"/v1/recipes/ml:recommend", fmt.Sprintf(`{"user_id":%q,"limit":%d,"exclude_items":["i00001","i00500"]}`, u, lim)},
		}
		for _, r := range reqs {
			want := body(plain, r[0], r[1])
			for pass := range 2 {
				if got := body(cached, r[0], r[1]); got != want {
					t.Fatalf("%s %s pass %d:\n got %s\nwant %s", r[0], r[1], pass, got, want)
				}
			}
		}
		batch = append(batch, fmt.Sprintf(`{"user_id":%q,"limit":%d}`, u, 1+i%12))
	}
	req := `{"requests":[` + strings.Join(batch, ",") + `]}`
	want := body(plain, "/v1/recipes/ml:batch-recommend", req)
	for pass := range 2 {
		if got := body(cached, "/v1/recipes/ml:batch-recommend", req); got != want {
			t.Fatalf("batch pass %d differs", pass)
		}
	}
	m := cached.a.reg.Get([]byte("ml")).Metrics()
	if m.CacheHit.Get() == 0 || m.CacheMiss.Get() == 0 {
		t.Fatalf("hits %d misses %d", m.CacheHit.Get(), m.CacheMiss.Get())
	}
	if pm := plain.a.reg.Get([]byte("ml")).Metrics(); pm.CacheHit.Get()+pm.CacheMiss.Get() != 0 {
		t.Fatal("cache counted with caching off")
	}
}
