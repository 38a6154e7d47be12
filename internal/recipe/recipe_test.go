package recipe

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/recotem/recotem/internal/failure"
)

// expectedErrors maps each testdata/recipes/*.bad.yaml to its exact error
// text (file prefix "testdata/recipes/" elided); every one exits 2.
var expectedErrors = []struct{ file, msg string }{
	{"algorithm-duplicate.bad.yaml", "algorithm-duplicate.bad.yaml:9:22: training.algorithms[1]: duplicate algorithm IALS"},
	{"algorithm-unknown.bad.yaml", "algorithm-unknown.bad.yaml:9:22: training.algorithms[1]: unknown algorithm (want one of IALS, CosineKNN, TopPop, RP3beta, DenseSLIM, TruncatedSVD, BPRFM)"},
	{"algorithms-empty.bad.yaml", "algorithms-empty.bad.yaml:9:15: training.algorithms: required (at least one of IALS, CosineKNN, TopPop, RP3beta, DenseSLIM, TruncatedSVD, BPRFM)"},
	{"algorithms-missing.bad.yaml", "algorithms-missing.bad.yaml:9:3: training.algorithms: required (at least one of IALS, CosineKNN, TopPop, RP3beta, DenseSLIM, TruncatedSVD, BPRFM)"},
	{"bigquery-query.bad.yaml", "bigquery-query.bad.yaml:3:3: source.query: required"},
	{"chain.bad.yaml", "chain.bad.yaml:4:9: source.path: '::' chains are not allowed"},
	{"csv-delimiter.bad.yaml", "csv-delimiter.bad.yaml:5:14: source.delimiter: must be a single byte other than a quote or newline"},
	{"csv-dtype.bad.yaml", "csv-dtype.bad.yaml:5:14: source.dtype.u: unsupported dtype (want str, int, float, bool or datetime)"},
	{"csv-encoding.bad.yaml", "csv-encoding.bad.yaml:5:13: source.encoding: unsupported encoding (want utf-8 or latin-1)"},
	{"csv-header.bad.yaml", "csv-header.bad.yaml:5:11: source.header: must be >= 0"},
	{"csv-path-missing.bad.yaml", "csv-path-missing.bad.yaml:3:3: source.path: required"},
	{"csv-sha256.bad.yaml", "csv-sha256.bad.yaml:5:11: source.sha256: must be 64 lowercase hex characters"},
	{"cutoff-bool.bad.yaml", "cutoff-bool.bad.yaml:10:11: training.cutoff: must be an integer"},
	{"cutoff-zero.bad.yaml", "cutoff-zero.bad.yaml:10:11: training.cutoff: must be >= 1"},
	{"dedup.bad.yaml", "dedup.bad.yaml:13:10: cleansing.dedup: must be one of keep_first, keep_last, none"},
	{"drop-null-ids.bad.yaml", "drop-null-ids.bad.yaml:13:18: cleansing.drop_null_ids: must be a boolean"},
	{"duplicate-key.bad.yaml", "duplicate-key.bad.yaml:11:3: training.cutoff: duplicate key"},
	{"empty.bad.yaml", "empty.bad.yaml: YAML parse failed: empty document (top level must be a mapping)"},
	{"env-blacklisted.bad.yaml", "env-blacklisted.bad.yaml:4:9: source.path: environment variable RECOTEM_RECIPE_PARTITION_KEY is blacklisted"},
	{"env-default-syntax.bad.yaml", "env-default-syntax.bad.yaml:4:9: source.path: environment variable RECOTEM_RECIPE_A:-B is not set"},
	{"env-not-allowed.bad.yaml", "env-not-allowed.bad.yaml:4:9: source.path: environment variable HOME is not allowed (only RECOTEM_RECIPE_* may be expanded)"},
	{"env-not-set.bad.yaml", "env-not-set.bad.yaml:4:9: source.path: environment variable RECOTEM_RECIPE_NOPE is not set"},
	{"file-remote-host.bad.yaml", "file-remote-host.bad.yaml:11:9: output.path: file URI host must be empty or localhost"},
	{"ftp-source.bad.yaml", "ftp-source.bad.yaml:4:9: source.path: scheme \"ftp\" is not allowed for an input path"},
	{"heldout-ratio.bad.yaml", "heldout-ratio.bad.yaml:11:20: training.split.heldout_ratio: must be > 0 and < 1"},
	{"https-no-sha.bad.yaml", "https-no-sha.bad.yaml:4:9: source.sha256: required for https sources"},
	{"https-output.bad.yaml", "https-output.bad.yaml:11:9: output.path: scheme \"https\" is not allowed for an output path"},
	{"metadata-fields.bad.yaml", "metadata-fields.bad.yaml:15:11: item_metadata.fields: required (a non-empty list)"},
	{"metadata-https-no-sha.bad.yaml", "metadata-https-no-sha.bad.yaml:14:9: item_metadata.sha256: required for https sources"},
	{"metadata-on-missing.bad.yaml", "metadata-on-missing.bad.yaml:16:21: item_metadata.on_field_missing: must be one of error, null"},
	{"metadata-type.bad.yaml", "metadata-type.bad.yaml:13:9: item_metadata.type: must be one of csv, parquet"},
	{"metric.bad.yaml", "metric.bad.yaml:10:11: training.metric: must be one of ndcg, map, recall, hit"},
	{"min-rows.bad.yaml", "min-rows.bad.yaml:13:13: cleansing.min_rows: must be >= 0"},
	{"multiple-problems.bad.yaml", "multiple-problems.bad.yaml:10:11: training.cutoff: must be >= 1; testdata/recipes/multiple-problems.bad.yaml:11:13: training.n_trials: must be >= 1"},
	{"n-trials-fraction.bad.yaml", "n-trials-fraction.bad.yaml:10:13: training.n_trials: must be an integer"},
	{"n-trials-text.bad.yaml", "n-trials-text.bad.yaml:10:13: training.n_trials: must be an integer"},
	{"name-invalid.bad.yaml", "name-invalid.bad.yaml:1:7: name: must match ^[A-Za-z0-9_-]{1,64}$"},
	{"name-missing.bad.yaml", "name-missing.bad.yaml:1:1: name: required"},
	{"name-too-long.bad.yaml", "name-too-long.bad.yaml:1:7: name: must match ^[A-Za-z0-9_-]{1,64}$"},
	{"not-mapping.bad.yaml", "not-mapping.bad.yaml:1:1: top level must be a mapping"},
	{"output-missing.bad.yaml", "output-missing.bad.yaml:1:1: output: required"},
	{"parallelism.bad.yaml", "parallelism.bad.yaml:10:16: training.parallelism: must be >= 1"},
	{"parquet-extra.bad.yaml", "parquet-extra.bad.yaml:5:3: source.delimiter: unknown key"},
	{"per-algorithm-key.bad.yaml", "per-algorithm-key.bad.yaml:10:34: training.per_algorithm_trials.TopPop: not listed in training.algorithms"},
	{"per-algorithm-unknown.bad.yaml", "per-algorithm-unknown.bad.yaml:10:32: training.per_algorithm_trials.Nope: unknown algorithm"},
	{"per-trial-timeout.bad.yaml", "per-trial-timeout.bad.yaml:10:30: training.per_trial_timeout_seconds: must be >= 1"},
	{"s3-userinfo.bad.yaml", "s3-userinfo.bad.yaml:11:9: output.path: userinfo is not allowed in s3 URIs"},
	{"schema-same-columns.bad.yaml", "schema-same-columns.bad.yaml:7:16: schema.item_column: must differ from schema.user_column"},
	{"schema-user-missing.bad.yaml", "schema-user-missing.bad.yaml:6:3: schema.user_column: required"},
	{"seed-text.bad.yaml", "seed-text.bad.yaml:11:11: training.split.seed: must be an integer"},
	{"source-missing.bad.yaml", "source-missing.bad.yaml:1:1: source: required"},
	{"source-type-missing.bad.yaml", "source-type-missing.bad.yaml:3:3: source.type: required (one of bigquery, csv, parquet, sql)"},
	{"source-type-unknown.bad.yaml", "source-type-unknown.bad.yaml:3:9: source.type: unknown source type (want one of bigquery, csv, parquet, sql)"},
	{"split-scheme.bad.yaml", "split-scheme.bad.yaml:11:13: training.split.scheme: must be one of random, time_global, time_user"},
	{"sql-connect-timeout.bad.yaml", "sql-connect-timeout.bad.yaml:6:28: source.connect_timeout_seconds: must be between 1 and 60"},
	{"sql-dsn-env-blacklisted.bad.yaml", "sql-dsn-env-blacklisted.bad.yaml:4:12: source.dsn_env: environment variable RECOTEM_RECIPE_DB_PASSWORD is blacklisted"},
	{"sql-dsn-env.bad.yaml", "sql-dsn-env.bad.yaml:4:12: source.dsn_env: must match ^RECOTEM_RECIPE_[A-Z0-9_]+$"},
	{"sql-param-type.bad.yaml", "sql-param-type.bad.yaml:6:25: source.query_parameters.a: must be a bool, int, float or string"},
	{"sql-statement-timeout.bad.yaml", "sql-statement-timeout.bad.yaml:6:30: source.statement_timeout_seconds: must be between 1 and 1800"},
	{"test-user-ratio.bad.yaml", "test-user-ratio.bad.yaml:11:22: training.split.test_user_ratio: must be > 0 and <= 1"},
	{"time-unit.bad.yaml", "time-unit.bad.yaml:9:14: schema.time_unit: must be one of s, ms, us, ns"},
	{"time-user-no-time.bad.yaml", "time-user-no-time.bad.yaml:11:13: training.split.scheme: time_user requires schema.time_column"},
	{"timeout.bad.yaml", "timeout.bad.yaml:10:20: training.timeout_seconds: must be >= 1"},
	{"training-missing.bad.yaml", "training-missing.bad.yaml:1:1: training: required"},
	{"unknown-nested-key.bad.yaml", "unknown-nested-key.bad.yaml:10:3: training.foo: unknown key"},
	{"unknown-source-key.bad.yaml", "unknown-source-key.bad.yaml:5:3: source.query: unknown key"},
	{"unknown-top-key.bad.yaml", "unknown-top-key.bad.yaml:12:1: extra: unknown key"},
	{"versioning.bad.yaml", "versioning.bad.yaml:12:15: output.versioning: must be one of append_sha, always_overwrite"},
	{"yaml-syntax.bad.yaml", "yaml-syntax.bad.yaml:1: YAML parse failed: did not find expected ',' or ']'"},
}

func TestBadRecipes(t *testing.T) {
	files, err := filepath.Glob("testdata/recipes/*.bad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	f := func(file, want string) {
		t.Helper()
		covered[file] = true
		path := filepath.Join("testdata", "recipes", file)
		_, err := Load(path, Options{})
		if err == nil {
			t.Errorf("%s: loaded, want error %q", file, want)
			return
		}
		if got := err.Error(); got != "testdata/recipes/"+want {
			t.Errorf("%s:\n got  %q\n want %q", file, got, "testdata/recipes/"+want)
		}
		if code := failure.ExitCode(err); code != 2 {
			t.Errorf("%s: exit code %d, want 2", file, code)
		}
		if failure.CodeOf(err) != "recipe_error" {
			t.Errorf("%s: code %q, want recipe_error", file, failure.CodeOf(err))
		}
		if len(Problems(err)) == 0 {
			t.Errorf("%s: no *recipe.Error inside %T", file, err)
		}
	}
	for _, c := range expectedErrors {
		f(c.file, c.msg)
	}
	for _, p := range files {
		if !covered[filepath.Base(p)] {
			t.Errorf("%s has no expected error in the table", p)
		}
	}
}

func TestGoodRecipes(t *testing.T) {
	files, err := filepath.Glob("testdata/recipes/*.good.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no good recipes: %v", err)
	}
	sort.Strings(files)
	for _, p := range files {
		r, err := Load(p, Options{})
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if r.File != p {
			t.Errorf("%s: File = %q", p, r.File)
		}
		if len(r.Hash()) != 64 {
			t.Errorf("%s: hash %q", p, r.Hash())
		}
	}
}

func load(t *testing.T, name string, opt Options) *Recipe {
	t.Helper()
	r, err := Load(filepath.Join("testdata", "recipes", name), opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDefaults(t *testing.T) {
	r := load(t, "minimal.good.yaml", Options{})
	c := r.Source.CSV
	if r.Source.Type != TypeCSV || c == nil || c.Delimiter != "," || c.Encoding != "utf-8" || c.Header != 0 || c.SHA256 != nil || c.Dtype != nil {
		t.Errorf("csv defaults: %+v", c)
	}
	if r.Schema.TimeColumn != nil || r.Schema.TimeUnit != nil {
		t.Errorf("schema defaults: %+v", r.Schema)
	}
	if !r.Cleansing.DropNullIDs || r.Cleansing.Dedup != DedupKeepLast || r.Cleansing.MinRows != nil {
		t.Errorf("cleansing defaults: %+v", r.Cleansing)
	}
	tr := r.Training
	if tr.Metric != "ndcg" || tr.Cutoff != 20 || tr.NTrials != 40 || tr.Parallelism != 1 || tr.StoragePath != "" ||
		tr.PerAlgorithmTrials != nil || tr.PerTrialTimeoutSeconds != nil || tr.TimeoutSeconds != nil {
		t.Errorf("training defaults: %+v", tr)
	}
	if tr.Split != (Split{Scheme: SplitRandom, HeldoutRatio: 0.1, TestUserRatio: 1, Seed: 42}) {
		t.Errorf("split defaults: %+v", tr.Split)
	}
	if r.Output.Versioning != VersioningAppendSHA || r.ItemMetadata != nil {
		t.Errorf("output defaults: %+v", r.Output)
	}
}

func TestFullRecipe(t *testing.T) {
	r := load(t, "full-csv.good.yaml", Options{})
	c := r.Source.CSV
	if c.Delimiter != "\t" || c.Encoding != "latin-1" || c.Header != 1 || c.Dtype["t"] != "int64" || c.SHA256 == nil {
		t.Errorf("csv: %+v", c)
	}
	if got := strings.Join(r.Training.Algorithms, ","); got != "IALS,CosineKNN" {
		t.Errorf("algorithms normalised to %s", got)
	}
	if r.Training.PerAlgorithmTrials["IALS"] != 8 || r.Training.PerAlgorithmTrials["CosineKNN"] != 4 {
		t.Errorf("per_algorithm_trials: %v", r.Training.PerAlgorithmTrials)
	}
	m := r.ItemMetadata
	if m == nil || m.Type != "parquet" || m.OnFieldMissing != "null" || m.ItemIDColumn != "movie_id" || len(m.Fields) != 2 {
		t.Errorf("item_metadata: %+v", m)
	}
	if r.Training.Split.Scheme != SplitTimeUser || *r.Schema.TimeUnit != "ms" || r.Output.Versioning != VersioningAlwaysOverwrite {
		t.Errorf("split/time/output: %+v %v %+v", r.Training.Split, *r.Schema.TimeUnit, r.Output)
	}
}

func TestStringSpellings(t *testing.T) {
	r := load(t, "string-spellings.good.yaml", Options{})
	tr := r.Training
	if tr.NTrials != 40 || tr.Cutoff != 10 || tr.Split.HeldoutRatio != 0.25 || tr.Split.Seed != 3 || !r.Cleansing.DropNullIDs {
		t.Errorf("lax scalars: %+v", tr)
	}
	if strings.Join(tr.Algorithms, ",") != "IALS,TopPop" {
		t.Errorf("algorithms %v", tr.Algorithms)
	}
}

// Spec §10 item 14: --env-var expands source.path; ${…} in a sql query stays literal.
func TestEnvExpansion(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.yaml")
	write(t, p, "name: e\nsource: {type: csv, path: '${RECOTEM_RECIPE_X}/${recotem_recipe_y}.csv'}\nschema: {user_column: u, item_column: i}\ntraining: {algorithms: [TopPop]}\noutput: {path: o.recotem}\n")
	env := map[string]string{"RECOTEM_RECIPE_Y": "from-env"}
	r, err := Load(p, Options{EnvVars: map[string]string{"RECOTEM_RECIPE_X": "v${RECOTEM_RECIPE_Y}"}, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	// One pass, no rescan: the injected value's ${…} stays literal.
	if got := r.Source.Path(); got != "v${RECOTEM_RECIPE_Y}/from-env.csv" {
		t.Errorf("path = %q", got)
	}
	q := load(t, "sql.good.yaml", Options{})
	if !strings.Contains(q.Source.SQL.Query, "${RECOTEM_RECIPE_NOPE}") {
		t.Errorf("sql query was expanded: %q", q.Source.SQL.Query)
	}
	if q.Source.SQL.QueryParameters["k"] != int64(3) || q.Source.SQL.QueryParameters["flag"] != true || q.Source.SQL.QueryParameters["w"] != 1.5 {
		t.Errorf("query parameters: %#v", q.Source.SQL.QueryParameters)
	}
}

// Spec §10 item 15: messages name the variable, never its value.
func TestEnvErrorsNeverHoldValues(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.yaml")
	write(t, p, "name: e\nsource: {type: csv, path: '${RECOTEM_RECIPE_X}'}\nschema: {user_column: u, item_column: i}\ntraining: {algorithms: [TopPop], metric: '${RECOTEM_RECIPE_M}'}\noutput: {path: 'ftp://${RECOTEM_RECIPE_X}'}\n")
	secret := "s3cr3t-value"
	_, err := Load(p, Options{EnvVars: map[string]string{"RECOTEM_RECIPE_X": secret, "RECOTEM_RECIPE_M": secret}})
	if err == nil {
		t.Fatal("want error")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error leaks the value: %v", err)
	}
}

func TestPathPolicy(t *testing.T) {
	f := func(p string, output bool, want string) {
		t.Helper()
		if got := checkPath(p, output); got != want {
			t.Errorf("checkPath(%q, %v) = %q, want %q", p, output, got, want)
		}
	}
	f("data.csv", false, "")
	f("/abs/data.csv", false, "")
	f("file:///abs/data.csv", false, "")
	f("s3://b/k.csv", false, "")
	f("gs://p@b/x", false, "")
	f("az://c@acct/x", false, "")
	f("https://h/x.csv", false, "")
	f("ftp://h/x.csv", false, `scheme "ftp" is not allowed for an input path`)
	f("a::b", false, "'::' chains are not allowed")
	// An IPv6 literal host is an address, not a chain (§10 item 23 needs
	// https://[::1]/ to reach the address guard); a chain after it is not.
	f("https://[::1]/x.csv", false, "")
	f("https://[::ffff:127.0.0.1]:8443/x.csv", false, "")
	f("https://[::1]/x::s3://b/k", false, "'::' chains are not allowed")
	f("simplecache::https://[::1]/x", false, "'::' chains are not allowed")
	f("https://u:p@h/x", false, "userinfo is not allowed in https URIs")
	f("abfss://u@h/x", true, "userinfo is not allowed in abfss URIs")
	f("http://h/x", true, `scheme "http" is not allowed for an output path`)
	f("file://localhost/x", true, "")
	f("file://other/x", true, "file URI host must be empty or localhost")
}

// Spec §10 item 18.
func TestArtifactRoot(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "m.recotem"), filepath.Join(root, "models", "link.recotem")); err != nil {
		t.Fatal(err)
	}
	f := func(out, want string) {
		t.Helper()
		err := CheckContainment(root, out)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", out, err)
		case want != "" && (err == nil || err.Error() != want):
			t.Errorf("%s: error %v, want %q", out, err, want)
		}
	}
	f(filepath.Join(root, "models", "m.recotem"), "")
	f("file://"+filepath.Join(root, "m.recotem"), "")
	f(filepath.Join(outside, "m.recotem"), "output directory is outside RECOTEM_ARTIFACT_ROOT")
	f(filepath.Join(root, "escape", "m.recotem"), "output directory is outside RECOTEM_ARTIFACT_ROOT")
	f(filepath.Join(root, "models", "link.recotem"), "output path is outside RECOTEM_ARTIFACT_ROOT")
	f(filepath.Join(root, "nope", "m.recotem"), "output directory does not exist")

	dir := t.TempDir()
	p := filepath.Join(dir, "r.yaml")
	write(t, p, "name: e\nsource: {type: csv, path: d.csv}\nschema: {user_column: u, item_column: i}\ntraining: {algorithms: [TopPop]}\noutput: {path: '"+filepath.Join(root, "escape", "m.recotem")+"'}\n")
	_, err := Load(p, Options{ArtifactRoot: root})
	if err == nil || failure.ExitCode(err) != 2 || Category(err) != CatSecurity || !errors.Is(err, ErrSecurity) {
		t.Errorf("escaping output: %v (category %q)", err, Category(err))
	}
	if _, err := Load(p, Options{}); err != nil {
		t.Errorf("without a root: %v", err)
	}
}

func TestCanonicalHash(t *testing.T) {
	a := load(t, "minimal.good.yaml", Options{})
	b := load(t, "minimal.good.yaml", Options{})
	if a.Hash() != b.Hash() {
		t.Fatal("hash not deterministic")
	}
	c := load(t, "string-spellings.good.yaml", Options{})
	if a.Hash() == c.Hash() {
		t.Error("different recipes share a hash")
	}
	m := a.Canonical()
	src, _ := m["source"].(map[string]any)
	if src["type"] != "csv" || src["delimiter"] != "," {
		t.Errorf("canonical source: %v", src)
	}
	if _, ok := m["File"]; ok {
		t.Error("File leaked into canonical form")
	}
	js := string(a.CanonicalJSON())
	if strings.Contains(js, " ") || !strings.HasPrefix(js, `{"cleansing":`) {
		t.Errorf("canonical JSON not compact/sorted: %s", js)
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
