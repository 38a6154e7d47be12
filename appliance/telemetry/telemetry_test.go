package telemetry

import (
	"bytes"
	"strings"
	"testing"
)

// TestNamesAndLabels: a recipe's handles are created once, under the
// spec's names, with its label escaped; unknown names get the request
// metrics only.
func TestNamesAndLabels(t *testing.T) {
	s := New(func() float64 { return 3 })
	m := s.ForRecipe(`we"ird`)
	if s.ForRecipe(`we"ird`) != m {
		t.Fatal("handles created twice")
	}
	m.Predict[PredictOK].Inc()
	m.V1[VerbBatchRelated][StatusValidation].Inc()
	m.ElemErr[VerbBatch][ElemCodeIndex("NO_CANDIDATES")].Inc()
	m.LoadFail[ReasonIndex("hmac")].Inc()
	m.SetResidency(1)
	s.DirScanFailure("yaml_parse")
	s.DirScanFailure("yaml_parse")
	var b bytes.Buffer
	s.Metrics().WritePrometheus(&b)
	for _, want := range []string{
		`recotem_active_recipes 3`,
		`recotem_predict_total{recipe="we\"ird",status="ok"} 1`,
		`recotem_v1_requests_total{recipe="we\"ird",verb="batch-recommend-related",status="validation_error"} 1`,
		`recotem_v1_batch_element_errors_total{recipe="we\"ird",verb="batch-recommend",code="NO_CANDIDATES"} 1`,
		`recotem_artifact_load_failures_total{recipe="we\"ird",reason="hmac"} 1`,
		`recotem_artifact_residency{recipe="we\"ird",residency="leased"} 1`,
		`recotem_artifact_residency{recipe="we\"ird",residency="private"} 0`,
		`recotem_recipes_dir_scan_failures_total{error_class="yaml_parse"} 2`,
		`recotem_predict_total{recipe="",status="unavailable"} 0`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %s", want)
		}
	}
	if strings.Contains(b.String(), `recotem_model_loaded{recipe=""}`) {
		t.Error("the unknown-recipe set has registry metrics")
	}
	if ElemCodeIndex("nope") != ElemInternal || ReasonIndex("nope") != ReasonIndex("unexpected") {
		t.Error("fallback indices")
	}
}
