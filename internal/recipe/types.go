package recipe

import (
	"encoding/json"
	"fmt"
)

// Recipe is one fully defaulted recipe (recotem-behavior.md §3.2, §3.3, §3.9).
type Recipe struct {
	Name         string        `yaml:"name" json:"name" jsonschema:"required,minLength=1,maxLength=64"`
	Source       Source        `yaml:"source" json:"source" jsonschema:"required"`
	Schema       Schema        `yaml:"schema" json:"schema" jsonschema:"required"`
	Cleansing    Cleansing     `yaml:"cleansing" json:"cleansing"`
	ItemMetadata *ItemMetadata `yaml:"item_metadata" json:"item_metadata" jsonschema:"nullable"`
	Training     Training      `yaml:"training" json:"training" jsonschema:"required"`
	Output       Output        `yaml:"output" json:"output" jsonschema:"required"`

	// File is the path the recipe was loaded from (not part of the recipe).
	File string `yaml:"-" json:"-"`
}

// Source types known to the recipe model.
const (
	TypeCSV      = "csv"
	TypeParquet  = "parquet"
	TypeSQL      = "sql"
	TypeBigQuery = "bigquery"
)

// SourceTypes lists the known source types in schema order.
var SourceTypes = []string{TypeCSV, TypeParquet, TypeBigQuery, TypeSQL}

// Source is the type-discriminated data source: Type names the variant and
// exactly the matching pointer is non-nil.
type Source struct {
	Type     string
	CSV      *CSVSource
	Parquet  *ParquetSource
	SQL      *SQLSource
	BigQuery *BigQuerySource
}

// Path returns the input path of a file source (csv, parquet), else "".
func (s *Source) Path() string {
	switch {
	case s.CSV != nil:
		return s.CSV.Path
	case s.Parquet != nil:
		return s.Parquet.Path
	}
	return ""
}

// SHA256 returns the pinned digest of a file source, or nil.
func (s *Source) SHA256() *string {
	switch {
	case s.CSV != nil:
		return s.CSV.SHA256
	case s.Parquet != nil:
		return s.Parquet.SHA256
	}
	return nil
}

func (s *Source) variant() any {
	switch s.Type {
	case TypeCSV:
		return s.CSV
	case TypeParquet:
		return s.Parquet
	case TypeSQL:
		return s.SQL
	case TypeBigQuery:
		return s.BigQuery
	}
	return nil
}

// MarshalJSON writes the selected variant (with its "type").
func (s Source) MarshalJSON() ([]byte, error) {
	v := s.variant()
	if v == nil {
		return nil, fmt.Errorf("recipe: source type %q has no variant", s.Type)
	}
	return json.Marshal(v)
}

// CSVSource is source.type csv.
type CSVSource struct {
	Type      string            `yaml:"type" json:"type" jsonschema:"required,enum=csv"`
	Path      string            `yaml:"path" json:"path" jsonschema:"required,minLength=1"`
	Delimiter string            `yaml:"delimiter" json:"delimiter" jsonschema:"minLength=1"`
	Encoding  string            `yaml:"encoding" json:"encoding" jsonschema:"default=utf-8"`
	Header    int               `yaml:"header" json:"header" jsonschema:"minimum=0,default=0"`
	Dtype     map[string]string `yaml:"dtype" json:"dtype" jsonschema:"nullable"`
	SHA256    *string           `yaml:"sha256" json:"sha256" jsonschema:"nullable"`
}

// ParquetSource is source.type parquet.
type ParquetSource struct {
	Type   string  `yaml:"type" json:"type" jsonschema:"required,enum=parquet"`
	Path   string  `yaml:"path" json:"path" jsonschema:"required,minLength=1"`
	SHA256 *string `yaml:"sha256" json:"sha256" jsonschema:"nullable"`
}

// BigQuerySource is source.type bigquery.
type BigQuerySource struct {
	Type            string         `yaml:"type" json:"type" jsonschema:"required,enum=bigquery"`
	Query           string         `yaml:"query" json:"query" jsonschema:"required,minLength=1"`
	QueryParameters map[string]any `yaml:"query_parameters" json:"query_parameters" jsonschema:"nullable"`
	Project         *string        `yaml:"project" json:"project" jsonschema:"nullable"`
}

// SQLSource is source.type sql.
type SQLSource struct {
	Type                    string         `yaml:"type" json:"type" jsonschema:"required,enum=sql"`
	DSNEnv                  string         `yaml:"dsn_env" json:"dsn_env" jsonschema:"required"`
	Query                   string         `yaml:"query" json:"query" jsonschema:"required,minLength=1"`
	QueryParameters         map[string]any `yaml:"query_parameters" json:"query_parameters" jsonschema:"nullable"`
	ConnectTimeoutSeconds   int            `yaml:"connect_timeout_seconds" json:"connect_timeout_seconds" jsonschema:"minimum=1,maximum=60,default=10"`
	StatementTimeoutSeconds int            `yaml:"statement_timeout_seconds" json:"statement_timeout_seconds" jsonschema:"minimum=1,maximum=1800,default=300"`
}

// Schema names the interaction columns.
type Schema struct {
	UserColumn string  `yaml:"user_column" json:"user_column" jsonschema:"required,minLength=1"`
	ItemColumn string  `yaml:"item_column" json:"item_column" jsonschema:"required,minLength=1"`
	TimeColumn *string `yaml:"time_column" json:"time_column" jsonschema:"nullable"`
	TimeUnit   *string `yaml:"time_unit" json:"time_unit" jsonschema:"enum=s,enum=ms,enum=us,enum=ns,nullable"`
}

// Dedup policies.
const (
	DedupKeepFirst = "keep_first"
	DedupKeepLast  = "keep_last"
	DedupNone      = "none"
)

// Cleansing is §3.8's cleansing block.
type Cleansing struct {
	DropNullIDs bool   `yaml:"drop_null_ids" json:"drop_null_ids" jsonschema:"default=true"`
	Dedup       string `yaml:"dedup" json:"dedup" jsonschema:"enum=keep_first,enum=keep_last,enum=none,default=keep_last"`
	MinRows     *int   `yaml:"min_rows" json:"min_rows" jsonschema:"minimum=0,nullable"`
	MinUsers    *int   `yaml:"min_users" json:"min_users" jsonschema:"minimum=0,nullable"`
	MinItems    *int   `yaml:"min_items" json:"min_items" jsonschema:"minimum=0,nullable"`
}

// ItemMetadata is §3.9's item_metadata block (loaded by serve).
type ItemMetadata struct {
	Type           string   `yaml:"type" json:"type" jsonschema:"required,enum=csv,enum=parquet"`
	Path           string   `yaml:"path" json:"path" jsonschema:"required,minLength=1"`
	Fields         []string `yaml:"fields" json:"fields" jsonschema:"required,minItems=1"`
	SHA256         *string  `yaml:"sha256" json:"sha256" jsonschema:"nullable"`
	OnFieldMissing string   `yaml:"on_field_missing" json:"on_field_missing" jsonschema:"enum=error,enum=null,default=error"`
	ItemIDColumn   string   `yaml:"item_id_column" json:"item_id_column" jsonschema:"default=item_id,minLength=1"`
}

// Split schemes.
const (
	SplitRandom     = "random"
	SplitTimeUser   = "time_user"
	SplitTimeGlobal = "time_global"
)

// Split is training.split.
type Split struct {
	Scheme        string  `yaml:"scheme" json:"scheme" jsonschema:"enum=random,enum=time_global,enum=time_user,default=random"`
	HeldoutRatio  float64 `yaml:"heldout_ratio" json:"heldout_ratio" jsonschema:"exclusiveMinimum=0,exclusiveMaximum=1,default=0.1"`
	TestUserRatio float64 `yaml:"test_user_ratio" json:"test_user_ratio" jsonschema:"exclusiveMinimum=0,maximum=1,default=1"`
	Seed          int64   `yaml:"seed" json:"seed" jsonschema:"default=42"`
}

// NeedsTime reports whether the scheme needs schema.time_column.
func (s Split) NeedsTime() bool { return s.Scheme == SplitTimeUser || s.Scheme == SplitTimeGlobal }

// Training is the training block. Algorithms and the keys of
// PerAlgorithmTrials hold canonical aliases (Resolve), in recipe order.
type Training struct {
	Algorithms             []string       `yaml:"algorithms" json:"algorithms" jsonschema:"required,minItems=1"`
	Metric                 string         `yaml:"metric" json:"metric" jsonschema:"enum=ndcg,enum=map,enum=recall,enum=hit,default=ndcg"`
	Cutoff                 int            `yaml:"cutoff" json:"cutoff" jsonschema:"minimum=1,default=20"`
	NTrials                int            `yaml:"n_trials" json:"n_trials" jsonschema:"minimum=1,default=40"`
	PerAlgorithmTrials     map[string]int `yaml:"per_algorithm_trials" json:"per_algorithm_trials" jsonschema:"nullable"`
	PerTrialTimeoutSeconds *int           `yaml:"per_trial_timeout_seconds" json:"per_trial_timeout_seconds" jsonschema:"minimum=1,nullable"`
	TimeoutSeconds         *int           `yaml:"timeout_seconds" json:"timeout_seconds" jsonschema:"minimum=1,nullable"`
	Parallelism            int            `yaml:"parallelism" json:"parallelism" jsonschema:"minimum=1,default=1"`
	StoragePath            string         `yaml:"storage_path" json:"storage_path"`
	Split                  Split          `yaml:"split" json:"split"`
}

// Versioning policies.
const (
	VersioningAppendSHA       = "append_sha"
	VersioningAlwaysOverwrite = "always_overwrite"
)

// Output is the output block.
type Output struct {
	Path       string `yaml:"path" json:"path" jsonschema:"required,minLength=1"`
	Versioning string `yaml:"versioning" json:"versioning" jsonschema:"enum=append_sha,enum=always_overwrite,default=append_sha"`
}

// defaults returns a recipe holding every default of §3.2 (source excluded).
func defaults() *Recipe {
	return &Recipe{
		Cleansing: Cleansing{DropNullIDs: true, Dedup: DedupKeepLast},
		Training: Training{
			Metric: "ndcg", Cutoff: 20, NTrials: 40, Parallelism: 1,
			Split: Split{Scheme: SplitRandom, HeldoutRatio: 0.1, TestUserRatio: 1.0, Seed: 42},
		},
		Output: Output{Versioning: VersioningAppendSHA},
	}
}

func defaultCSV() *CSVSource { return &CSVSource{Delimiter: ",", Encoding: "utf-8"} }

func defaultSQL() *SQLSource {
	return &SQLSource{ConnectTimeoutSeconds: 10, StatementTimeoutSeconds: 300, QueryParameters: map[string]any{}}
}

func defaultItemMetadata() *ItemMetadata {
	return &ItemMetadata{OnFieldMissing: "error", ItemIDColumn: "item_id"}
}
