package recipe

import (
	"encoding/json"
	"reflect"

	"github.com/invopop/jsonschema"
	orderedmap "github.com/pb33f/ordered-map/v2"
)

// SchemaID is the $id of the generated recipe schema.
const SchemaID = "https://recotem.dev/schemas/recipe.json"

// JSONSchema returns the recipe JSON Schema (2-space indent), generated from
// the Go types of this package; "source" is a oneOf discriminated by "type"
// over csv, parquet, bigquery and sql.
func JSONSchema() ([]byte, error) {
	s := reflector().Reflect(&Recipe{})
	s.ID = SchemaID
	s.Title = "recotem recipe"
	return json.MarshalIndent(s, "", "  ")
}

func reflector() *jsonschema.Reflector {
	r := &jsonschema.Reflector{
		DoNotReference:             true,
		ExpandedStruct:             true,
		RequiredFromJSONSchemaTags: true,
		FieldNameTag:               "yaml",
	}
	r.Mapper = func(t reflect.Type) *jsonschema.Schema {
		if t != sourceType {
			return nil
		}
		sub := &jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true, RequiredFromJSONSchemaTags: true, FieldNameTag: "yaml", Anonymous: true}
		var one []*jsonschema.Schema
		for _, v := range []any{&CSVSource{}, &ParquetSource{}, &BigQuerySource{}, &SQLSource{}} {
			vs := sub.Reflect(v)
			vs.Version = ""
			one = append(one, vs)
		}
		return &jsonschema.Schema{OneOf: one, Description: "data source, discriminated by type"}
	}
	return r
}

// JSONSchemaExtend adds the rules struct tags cannot spell.
func (Recipe) JSONSchemaExtend(s *jsonschema.Schema) {
	setProp(s.Properties, "name", func(p *jsonschema.Schema) { p.Pattern = NamePattern.String() })
}

// JSONSchemaExtend adds the csv defaults and patterns tags cannot spell.
func (CSVSource) JSONSchemaExtend(s *jsonschema.Schema) {
	setProp(s.Properties, "delimiter", func(p *jsonschema.Schema) { p.Default = "," })
	shaProp(s)
}

// JSONSchemaExtend adds the sha256 pattern.
func (ParquetSource) JSONSchemaExtend(s *jsonschema.Schema) { shaProp(s) }

// JSONSchemaExtend adds the sha256 pattern.
func (ItemMetadata) JSONSchemaExtend(s *jsonschema.Schema) { shaProp(s) }

// JSONSchemaExtend adds the dsn_env pattern and the query parameter types.
func (SQLSource) JSONSchemaExtend(s *jsonschema.Schema) {
	setProp(s.Properties, "dsn_env", func(p *jsonschema.Schema) { p.Pattern = dsnEnvPattern.String() })
	setProp(s.Properties, "query_parameters", queryParams)
}

// JSONSchemaExtend adds the query parameter types.
func (BigQuerySource) JSONSchemaExtend(s *jsonschema.Schema) {
	setProp(s.Properties, "query_parameters", queryParams)
}

func queryParams(p *jsonschema.Schema) {
	p.AdditionalProperties = &jsonschema.Schema{OneOf: []*jsonschema.Schema{
		{Type: "boolean"}, {Type: "integer"}, {Type: "number"}, {Type: "string"},
	}}
}

func shaProp(s *jsonschema.Schema) {
	setProp(s.Properties, "sha256", func(p *jsonschema.Schema) { p.Pattern = sha256Pattern.String() })
}

func setProp(props *orderedmap.OrderedMap[string, *jsonschema.Schema], name string, f func(*jsonschema.Schema)) {
	if props == nil {
		return
	}
	if p, ok := props.Get(name); ok && p != nil {
		f(p)
	}
}
