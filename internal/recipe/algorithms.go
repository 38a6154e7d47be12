package recipe

import "strings"

// classes are the algorithms a recipe may name, as (alias, class), in the
// spec's order (the trainer implements each). Resolve accepts an alias, "<alias>Recommender" or the
// full class name, case-insensitively.
var classes = [][2]string{
	{"IALS", "IALSRecommender"},
	{"CosineKNN", "CosineKNNRecommender"},
	{"TopPop", "TopPopRecommender"},
	{"RP3beta", "RP3betaRecommender"},
	{"DenseSLIM", "DenseSLIMRecommender"},
	{"TruncatedSVD", "TruncatedSVDRecommender"},
	{"BPRFM", "BPRFMRecommender"},
}

// Aliases lists the canonical aliases in spec order.
func Aliases() []string {
	out := make([]string, len(classes))
	for i, c := range classes {
		out[i] = c[0]
	}
	return out
}

// Resolve maps a recipe algorithm name to its canonical alias and class.
func Resolve(name string) (alias, class string, ok bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.TrimSuffix(n, "recommender")
	for _, c := range classes {
		if n == strings.ToLower(c[0]) {
			return c[0], c[1], true
		}
	}
	return "", "", false
}
