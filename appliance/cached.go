package appliance

import (
	"sync"

	"github.com/VictoriaMetrics/metrics"

	"github.com/recotem/recotem/appliance/resultcache"
)

// cachedModel answers Recommend and BatchRecommend without exclusions from
// a per-model result cache (RECOTEM_RESULT_CACHE_BYTES); everything else,
// and every miss, goes to the model. The cache belongs to one loaded model,
// so a swap starts from an empty one.
type cachedModel struct {
	Model
	c         *resultcache.Cache
	hit, miss *metrics.Counter
}

func (m *cachedModel) Recommend(dst []Hit, u, limit int, exclude []int32) []Hit {
	if len(exclude) > 0 || !resultcache.Cacheable(limit) {
		return m.Model.Recommend(dst, u, limit, exclude)
	}
	if r, ok := m.c.Get(dst, u, limit); ok {
		m.hit.Inc()
		return r
	}
	m.miss.Inc()
	dst = m.Model.Recommend(dst, u, limit, nil)
	m.c.Put(u, limit, dst)
	return dst
}

// missScratch holds one BatchRecommend's misses.
type missScratch struct {
	users, pos []int
	out        [][]Hit
}

var missPool = sync.Pool{New: func() any { return new(missScratch) }}

func (m *cachedModel) BatchRecommend(dst [][]Hit, users []int, limit int) [][]Hit {
	if !resultcache.Cacheable(limit) {
		return m.Model.BatchRecommend(dst, users, limit)
	}
	if cap(dst) < len(users) {
		dst = append(dst[:cap(dst)], make([][]Hit, len(users)-cap(dst))...)
	}
	dst = dst[:len(users)]
	ms := missPool.Get().(*missScratch)
	ms.users, ms.pos = ms.users[:0], ms.pos[:0]
	for i, u := range users {
		var ok bool
		if dst[i], ok = m.c.Get(dst[i][:0], u, limit); !ok {
			ms.users = append(ms.users, u)
			ms.pos = append(ms.pos, i)
		}
	}
	m.hit.Add(len(users) - len(ms.users))
	if len(ms.users) > 0 {
		m.miss.Add(len(ms.users))
		ms.out = m.Model.BatchRecommend(ms.out, ms.users, limit)
		for j, i := range ms.pos {
			dst[i] = append(dst[i][:0], ms.out[j]...)
			m.c.Put(ms.users[j], limit, ms.out[j])
		}
	}
	missPool.Put(ms)
	return dst
}

// withResultCache wraps model in a result cache of at most budget bytes, or
// returns it as is when budget is 0 or the model is too small to need one.
func withResultCache(model Model, budget int64, hit, miss *metrics.Counter) (Model, int64) {
	c := resultcache.New(model.NumUsers(), budget)
	if c == nil {
		return model, 0
	}
	return &cachedModel{Model: model, c: c, hit: hit, miss: miss}, c.Bytes()
}
