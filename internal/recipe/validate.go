package recipe

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/recotem/recotem/internal/recipe/recipeenv"
)

var dsnEnvPattern = regexp.MustCompile(`^RECOTEM_RECIPE_[A-Z0-9_]+$`)

var sqlParamName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validate checks every rule of §3.2/§3.3/§3.9 on a decoded recipe and
// normalises algorithm names to canonical aliases.
func (d *decoder) validate(r *Recipe) {
	d.validateSource(&r.Source)

	// schema
	if _, ok := d.nodes["schema"]; !ok {
		d.errf("schema", "required")
	} else {
		if strings.TrimSpace(r.Schema.UserColumn) == "" {
			d.errf("schema.user_column", "required")
		}
		if strings.TrimSpace(r.Schema.ItemColumn) == "" {
			d.errf("schema.item_column", "required")
		}
		if r.Schema.UserColumn != "" && r.Schema.UserColumn == r.Schema.ItemColumn {
			d.errf("schema.item_column", "must differ from schema.user_column")
		}
		if tc := r.Schema.TimeColumn; tc != nil && strings.TrimSpace(*tc) == "" {
			d.errf("schema.time_column", "must not be blank")
		}
		if tu := r.Schema.TimeUnit; tu != nil {
			switch *tu {
			case "s", "ms", "us", "ns":
			default:
				d.errf("schema.time_unit", "must be one of s, ms, us, ns")
			}
		}
	}

	// cleansing
	switch r.Cleansing.Dedup {
	case DedupKeepFirst, DedupKeepLast, DedupNone:
	default:
		d.errf("cleansing.dedup", "must be one of keep_first, keep_last, none")
	}
	for _, m := range []struct {
		k string
		v *int
	}{{"min_rows", r.Cleansing.MinRows}, {"min_users", r.Cleansing.MinUsers}, {"min_items", r.Cleansing.MinItems}} {
		if m.v != nil && *m.v < 0 {
			d.errf("cleansing."+m.k, "must be >= 0")
		}
	}

	// item_metadata
	if m := r.ItemMetadata; m != nil {
		switch m.Type {
		case "":
			d.errf("item_metadata.type", "required (one of csv, parquet)")
		case TypeCSV, TypeParquet:
		default:
			d.errf("item_metadata.type", "must be one of csv, parquet")
		}
		if strings.TrimSpace(m.Path) == "" {
			d.errf("item_metadata.path", "required")
		}
		if len(m.Fields) == 0 {
			d.errf("item_metadata.fields", "required (a non-empty list)")
		}
		for i, f := range m.Fields {
			if strings.TrimSpace(f) == "" {
				d.errf(fmt.Sprintf("item_metadata.fields[%d]", i), "must not be blank")
			}
		}
		d.checkSHA("item_metadata.sha256", m.SHA256)
		switch m.OnFieldMissing {
		case "error", "null":
		default:
			d.errf("item_metadata.on_field_missing", "must be one of error, null")
		}
		if strings.TrimSpace(m.ItemIDColumn) == "" {
			d.errf("item_metadata.item_id_column", "must not be blank")
		}
	}

	// training
	t := &r.Training
	if _, ok := d.nodes["training"]; !ok {
		d.errf("training", "required")
	} else {
		if len(t.Algorithms) == 0 {
			d.errf("training.algorithms", "required (at least one of %s)", strings.Join(Aliases(), ", "))
		}
		seen := map[string]bool{}
		for i, a := range t.Algorithms {
			p := fmt.Sprintf("training.algorithms[%d]", i)
			alias, _, ok := Resolve(a)
			if !ok {
				d.errf(p, "unknown algorithm (want one of %s)", strings.Join(Aliases(), ", "))
				continue
			}
			if seen[alias] {
				d.errf(p, "duplicate algorithm %s", alias)
			}
			seen[alias] = true
			t.Algorithms[i] = alias
		}
		if t.PerAlgorithmTrials != nil {
			norm := make(map[string]int, len(t.PerAlgorithmTrials))
			for _, k := range sortedKeys(t.PerAlgorithmTrials) {
				v := t.PerAlgorithmTrials[k]
				p := "training.per_algorithm_trials." + k
				alias, _, ok := Resolve(k)
				switch {
				case !ok:
					d.errf(p, "unknown algorithm")
				case !seen[alias]:
					d.errf(p, "not listed in training.algorithms")
				case hasKey(norm, alias):
					d.errf(p, "duplicate entry for %s", alias)
				default:
					norm[alias] = v
				}
			}
			t.PerAlgorithmTrials = norm
		}
		switch t.Metric {
		case "ndcg", "map", "recall", "hit":
		default:
			d.errf("training.metric", "must be one of ndcg, map, recall, hit")
		}
		if t.Cutoff < 1 {
			d.errf("training.cutoff", "must be >= 1")
		}
		if t.NTrials < 1 {
			d.errf("training.n_trials", "must be >= 1")
		}
		if v := t.PerTrialTimeoutSeconds; v != nil && *v < 1 {
			d.errf("training.per_trial_timeout_seconds", "must be >= 1")
		}
		if v := t.TimeoutSeconds; v != nil && *v < 1 {
			d.errf("training.timeout_seconds", "must be >= 1")
		}
		if t.Parallelism < 1 {
			d.errf("training.parallelism", "must be >= 1")
		}
		s := &t.Split
		switch s.Scheme {
		case SplitRandom, SplitTimeUser, SplitTimeGlobal:
			if s.NeedsTime() && r.Schema.TimeColumn == nil {
				d.errf("training.split.scheme", "%s requires schema.time_column", s.Scheme)
			}
		default:
			d.errf("training.split.scheme", "must be one of random, time_global, time_user")
		}
		if !(s.HeldoutRatio > 0 && s.HeldoutRatio < 1) {
			d.errf("training.split.heldout_ratio", "must be > 0 and < 1")
		}
		if !(s.TestUserRatio > 0 && s.TestUserRatio <= 1) {
			d.errf("training.split.test_user_ratio", "must be > 0 and <= 1")
		}
	}

	// output
	if _, ok := d.nodes["output"]; !ok {
		d.errf("output", "required")
	} else {
		if strings.TrimSpace(r.Output.Path) == "" {
			d.errf("output.path", "required")
		}
		switch r.Output.Versioning {
		case VersioningAppendSHA, VersioningAlwaysOverwrite:
		default:
			d.errf("output.versioning", "must be one of append_sha, always_overwrite")
		}
	}
}

func hasKey(m map[string]int, k string) bool { _, ok := m[k]; return ok }

func (d *decoder) checkSHA(path string, s *string) {
	if s != nil && !sha256Pattern.MatchString(*s) {
		d.errf(path, "must be 64 lowercase hex characters")
	}
}

func (d *decoder) validateSource(s *Source) {
	switch s.Type {
	case TypeCSV:
		c := s.CSV
		if strings.TrimSpace(c.Path) == "" {
			d.errf("source.path", "required")
		}
		if len(c.Delimiter) != 1 || c.Delimiter == "\"" || c.Delimiter == "\n" || c.Delimiter == "\r" {
			d.errf("source.delimiter", "must be a single byte other than a quote or newline")
		}
		if !KnownEncoding(c.Encoding) {
			d.errf("source.encoding", "unsupported encoding (want utf-8 or latin-1)")
		}
		if c.Header < 0 {
			d.errf("source.header", "must be >= 0")
		}
		for _, k := range sortedKeys(c.Dtype) {
			v := c.Dtype[k]
			if !knownDtype(v) {
				d.errf("source.dtype."+k, "unsupported dtype (want str, int, float, bool or datetime)")
			}
		}
		d.checkSHA("source.sha256", c.SHA256)
	case TypeParquet:
		if strings.TrimSpace(s.Parquet.Path) == "" {
			d.errf("source.path", "required")
		}
		d.checkSHA("source.sha256", s.Parquet.SHA256)
	case TypeBigQuery:
		b := s.BigQuery
		if strings.TrimSpace(b.Query) == "" {
			d.errf("source.query", "required")
		}
		for _, k := range sortedKeys(b.QueryParameters) {
			if !sqlParamName.MatchString(k) {
				d.errf("source.query_parameters."+k, "must be an identifier")
			}
		}
		if b.Project != nil && strings.TrimSpace(*b.Project) == "" {
			d.errf("source.project", "must not be blank")
		}
	case TypeSQL:
		q := s.SQL
		if q.DSNEnv == "" {
			d.errf("source.dsn_env", "required")
		} else if !dsnEnvPattern.MatchString(q.DSNEnv) {
			d.errf("source.dsn_env", "must match %s", dsnEnvPattern)
		} else if recipeenv.Blacklisted(q.DSNEnv) {
			d.errf("source.dsn_env", "environment variable %s is blacklisted", q.DSNEnv)
		}
		if strings.TrimSpace(q.Query) == "" {
			d.errf("source.query", "required")
		}
		if q.QueryParameters == nil {
			q.QueryParameters = map[string]any{}
		}
		for _, k := range sortedKeys(q.QueryParameters) {
			if !sqlParamName.MatchString(k) {
				d.errf("source.query_parameters."+k, "must be an identifier")
			}
		}
		if q.ConnectTimeoutSeconds < 1 || q.ConnectTimeoutSeconds > 60 {
			d.errf("source.connect_timeout_seconds", "must be between 1 and 60")
		}
		if q.StatementTimeoutSeconds < 1 || q.StatementTimeoutSeconds > 1800 {
			d.errf("source.statement_timeout_seconds", "must be between 1 and 1800")
		}
	}
}

// KnownEncoding reports whether a csv encoding name is supported.
func KnownEncoding(e string) bool {
	switch NormEncoding(e) {
	case "utf-8", "latin-1":
		return true
	}
	return false
}

// NormEncoding maps encoding spellings to "utf-8" or "latin-1" (else the
// lower-cased input).
func NormEncoding(e string) string {
	switch strings.ReplaceAll(strings.ToLower(strings.TrimSpace(e)), "_", "-") {
	case "utf-8", "utf8", "utf-8-sig", "ascii", "us-ascii":
		return "utf-8"
	case "latin-1", "latin1", "iso-8859-1", "iso8859-1", "l1", "cp819":
		return "latin-1"
	}
	return strings.ToLower(e)
}

func knownDtype(v string) bool {
	switch strings.ToLower(v) {
	case "str", "string", "object", "int", "int32", "int64", "float", "float32", "float64", "bool", "boolean", "datetime", "datetime64", "datetime64[ns]":
		return true
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
