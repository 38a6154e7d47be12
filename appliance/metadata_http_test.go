package appliance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMetadataJoin(t *testing.T) {
	h := newHarness(t)
	csv := filepath.Join(h.art, "meta.csv")
	os.WriteFile(csv, []byte("item_id,title,Title2,score,genre\ni2,Two,x,999,drama\ni3,Thr\xffee,y,1,comedy\ni4,Four,z,5,\n"), 0o644)
	h.cfg.MetadataDeny = []string{"TITLE2"}
	h.recipe("a", "movies", "item_metadata:\n  type: csv\n  path: "+csv+"\n  fields: [title, Title2, score, item_id, genre]\n")
	h.recipe("b", "strict", "item_metadata:\n  type: csv\n  path: "+csv+"\n  fields: [title, nope]\n")
	h.recipe("c", "lenient", "item_metadata:\n  type: csv\n  path: "+csv+"\n  fields: [title, nope]\n  on_field_missing: \"null\"\n")
	for _, n := range []string{"movies", "strict", "lenient"} {
		h.artifact(n, defaultModel())
	}
	h.start()

	r := h.post("/v1/recipes/movies:recommend", `{"user_id":"u1","limit":3}`)
	if r.code != 200 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	items := decode(t, r)["items"].([]any)
	i2 := items[0].(map[string]any)
	if i2["item_id"] != "i2" || i2["title"] != "Two" || i2["genre"] != "drama" || i2["score"] == 999.0 || i2["Title2"] != nil {
		t.Fatalf("i2 %v", i2)
	}
	i3 := items[1].(map[string]any)
	if i3["item_id"] != "i3" || i3["title"] != nil || len(i3) != 2 {
		t.Fatalf("degraded item must be bare: %v", i3)
	}
	if r.hdr.Get("X-Recotem-Items-Degraded") != "1" {
		t.Fatalf("degraded header %q", r.hdr.Get("X-Recotem-Items-Degraded"))
	}
	if !strings.Contains(r.body, `{"title":"Two","genre":"drama","item_id":"i2","score":50}`) {
		t.Fatalf("metadata first, then item_id/score: %s", r.body)
	}
	// legacy: metadata + X-Recotem-Metadata-Degraded
	r = h.post("/predict/movies", `{"user_id":"u1","cutoff":3}`)
	if r.hdr.Get("X-Recotem-Metadata-Degraded") != "1" || !strings.Contains(r.body, `"genre":"drama"`) {
		t.Fatalf("legacy metadata %s %v", r.body, r.hdr)
	}
	// batch: metadata only with include_metadata
	r = h.post("/v1/recipes/movies:batch-recommend", `{"requests":[{"user_id":"u1","limit":1}]}`)
	if strings.Contains(r.body, "drama") || r.hdr.Get("X-Recotem-Items-Degraded") != "" {
		t.Fatalf("batch without include_metadata: %s", r.body)
	}
	r = h.post("/v1/recipes/movies:batch-recommend", `{"requests":[{"user_id":"u1","limit":2}],"include_metadata":true}`)
	if !strings.Contains(r.body, "drama") || r.hdr.Get("X-Recotem-Items-Degraded") != "" {
		t.Fatalf("batch with include_metadata: %s", r.body)
	}
	// on_field_missing
	if d := h.detail("strict"); d["loaded"] != false || !strings.Contains(d["error"].(string), "nope") {
		t.Fatalf("strict %v", d)
	}
	if h.logs.CountEvent("initial_artifact_metadata_failed") != 1 || !strings.Contains(h.logs.String(), `"reason":"metadata"`) {
		t.Fatal("metadata failure event")
	}
	r = h.post("/v1/recipes/lenient:recommend", `{"user_id":"u1","limit":1}`)
	if !strings.Contains(r.body, `"nope":null`) || h.logs.CountEvent("metadata_field_missing_filled_null") == 0 {
		t.Fatalf("lenient %s", r.body)
	}
	if !strings.Contains(h.do("GET", "/metrics", "").body, `recotem_artifact_load_failures_total{recipe="strict",reason="metadata"} 1`) {
		t.Fatal("metadata failure metric")
	}
}
