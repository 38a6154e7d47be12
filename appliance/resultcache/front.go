package resultcache

import (
	"sync"

	"github.com/VictoriaMetrics/metrics"

	"github.com/recotem/recotem/scoring"
)

// Ranker is the part of a model a Front stands before.
type Ranker interface {
	Recommend(dst []scoring.Result, u, limit int, exclude []int32) []scoring.Result
	BatchRecommend(dst [][]scoring.Result, users []int, limit int) [][]scoring.Result
}

// Front answers Recommend and BatchRecommend without exclusions from its
// Cache; everything else, and every miss, goes to its Ranker. Hit and Miss
// count the lookups. A Front belongs to one loaded model, so a swap starts
// from an empty cache.
type Front struct {
	Ranker    Ranker
	Cache     *Cache
	Hit, Miss *metrics.Counter
}

// Recommend is Ranker.Recommend through the cache.
func (f *Front) Recommend(dst []scoring.Result, u, limit int, exclude []int32) []scoring.Result {
	if len(exclude) > 0 || !Cacheable(limit) {
		return f.Ranker.Recommend(dst, u, limit, exclude)
	}
	if r, ok := f.Cache.Get(dst, u, limit); ok {
		f.Hit.Inc()
		return r
	}
	f.Miss.Inc()
	dst = f.Ranker.Recommend(dst, u, limit, nil)
	f.Cache.Put(u, limit, dst)
	return dst
}

// missScratch holds one BatchRecommend's misses.
type missScratch struct {
	users, pos []int
	out        [][]scoring.Result
}

var missPool = sync.Pool{New: func() any { return new(missScratch) }}

// BatchRecommend is Ranker.BatchRecommend through the cache: the misses
// are ranked together in one call.
func (f *Front) BatchRecommend(dst [][]scoring.Result, users []int, limit int) [][]scoring.Result {
	if !Cacheable(limit) {
		return f.Ranker.BatchRecommend(dst, users, limit)
	}
	if cap(dst) < len(users) {
		dst = append(dst[:cap(dst)], make([][]scoring.Result, len(users)-cap(dst))...)
	}
	dst = dst[:len(users)]
	ms := missPool.Get().(*missScratch)
	ms.users, ms.pos = ms.users[:0], ms.pos[:0]
	for i, u := range users {
		var ok bool
		if dst[i], ok = f.Cache.Get(dst[i][:0], u, limit); !ok {
			ms.users = append(ms.users, u)
			ms.pos = append(ms.pos, i)
		}
	}
	f.Hit.Add(len(users) - len(ms.users))
	if len(ms.users) > 0 {
		f.Miss.Add(len(ms.users))
		ms.out = f.Ranker.BatchRecommend(ms.out, ms.users, limit)
		for j, i := range ms.pos {
			dst[i] = append(dst[i][:0], ms.out[j]...)
			f.Cache.Put(ms.users[j], limit, ms.out[j])
		}
	}
	missPool.Put(ms)
	return dst
}
