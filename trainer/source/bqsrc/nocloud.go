//go:build recotem_nocloud

// Under the recotem_nocloud build tag (the quick `make demo` binary) the
// BigQuery client is not linked: source.type bigquery still parses and
// validates as a recipe, and New fails with a DataSource error (exit 3)
// that says how to get a binary with it.

package bqsrc

import (
	"github.com/recotem/recotem/internal/failure"
	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/trainer/source"
)

func init() { source.Register(recipe.TypeBigQuery, New) }

// New refuses: this build has no BigQuery client.
func New(*recipe.Recipe, source.Options) (source.Source, error) {
	return nil, failure.New(failure.DataSource, "datasource_error",
		"source.type bigquery: this recotem binary was built with the recotem_nocloud tag and has no BigQuery client; use a full build (make build, or the container image)")
}
