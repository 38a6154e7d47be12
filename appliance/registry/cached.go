package registry

import (
	"github.com/VictoriaMetrics/metrics"

	"github.com/recotem/recotem/appliance/resultcache"
)

// cachedScorer is a Scorer behind a per-model result cache
// (RECOTEM_RESULT_CACHE_BYTES; see resultcache.Front).
type cachedScorer struct {
	Scorer
	front resultcache.Front
}

func (s *cachedScorer) Recommend(dst []Hit, u, limit int, exclude []int32) []Hit {
	return s.front.Recommend(dst, u, limit, exclude)
}

func (s *cachedScorer) BatchRecommend(dst [][]Hit, users []int, limit int) [][]Hit {
	return s.front.BatchRecommend(dst, users, limit)
}

// withResultCache wraps s in a result cache of at most budget bytes, or
// returns it as is when budget is 0 or the model is too small to need one.
func withResultCache(s Scorer, budget int64, hit, miss *metrics.Counter) (Scorer, int64) {
	c := resultcache.New(s.NumUsers(), budget)
	if c == nil {
		return s, 0
	}
	return &cachedScorer{Scorer: s, front: resultcache.Front{Ranker: s, Cache: c, Hit: hit, Miss: miss}}, c.Bytes()
}
