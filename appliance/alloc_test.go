//go:build !race

package appliance

import (
	"fmt"
	"testing"
)

// TestHandlerZeroAlloc: a steady-state /predict, :recommend and
// :recommend-related request allocates nothing.
func TestHandlerZeroAlloc(t *testing.T) {
	for _, cache := range []int64{0, 1 << 20} {
		t.Run(fmt.Sprintf("cache=%d", cache), func(t *testing.T) { handlerZeroAlloc(t, cache) })
	}
}

func handlerZeroAlloc(t *testing.T, cacheBytes int64) {
	env := newBenchEnv(t, cacheBytes)
	f := func(path, body string) {
		t.Helper()
		ctx := env.ctx(path, body)
		if body == "" {
			ctx.Request.Header.SetMethod("GET")
		}
		for range 3 {
			env.serve(t, ctx, 200)
		}
		if n := testing.AllocsPerRun(200, func() { env.serve(t, ctx, 200) }); n != 0 {
			t.Fatalf("%s: %v allocs per request", path, n)
		}
	}
	f("/predict/ml", `{"user_id":"u00042","cutoff":10}`)
	f("/v1/recipes/ml:recommend", `{"user_id":"u00042","limit":10,"exclude_items":["i00001","i00002"]}`)
	f("/v1/recipes/ml:recommend-related", `{"seed_items":["i00001","i00100"],"limit":10}`)
	f("/v1/recipes/ml:batch-recommend", `{"requests":[{"user_id":"u00042"},{"user_id":"u00043","limit":5}]}`)
	f("/health", ``)
}
