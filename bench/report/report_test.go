package report

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/recotem/recotem/bench/hist"
)

func fixedResult(compare bool) *Result {
	mk := func(name string, scale int64) TargetResult {
		h := new(hist.Histogram)
		for v := int64(1); v <= 1000; v++ {
			h.Record(v * 1000 * scale) // 1µs..1ms (× scale)
		}
		return TargetResult{
			Name: name, Elapsed: 2 * time.Second, Latency: h, Responses: 1000,
			Status:    map[int]uint64{200: 990, 404: 7, 503: 3},
			Transport: map[string]uint64{"timeout": 2},
		}
	}
	r := &Result{Mode: "closed", Connections: 8, Elapsed: 2 * time.Second,
		CPU: CPUUsage{User: 300 * time.Millisecond, System: 100 * time.Millisecond, Wall: 2 * time.Second, Cores: 2}}
	r.Targets = append(r.Targets, mk("http://127.0.0.1:1", 1))
	if compare {
		t := mk("http://127.0.0.1:2", 2)
		t.Responses = 500
		r.Targets = append(r.Targets, t)
	}
	return r
}

func TestReportJSONShape(t *testing.T) {
	var buf bytes.Buffer
	if err := New(fixedResult(false)).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
		t.Fatalf("want one JSON line, got %q", buf.String())
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	num := func(k string, want, relTol float64) {
		t.Helper()
		v, ok := m[k].(float64)
		if !ok {
			t.Fatalf("key %q missing or not a number in %s", k, buf.String())
		}
		if !math.IsNaN(want) && math.Abs(v-want) > relTol*math.Abs(want)+1e-12 {
			t.Fatalf("%s = %v, want %v", k, v, want)
		}
	}
	// The keys recotem-behavior.md §1.9 requires, with their values.
	// Quantiles are within the histogram's 1/128 bucket width.
	num("throughput", 500, 0)
	num("p50_ms", 0.5, hist.Resolution)
	num("p99_ms", 0.99, hist.Resolution)
	num("p999_ms", 0.999, hist.Resolution)
	num("errors", 7+3+2, 0)
	num("p90_ms", 0.9, hist.Resolution)
	num("max_ms", 1, 0)
	num("requests", 1002, 0)
	num("cpu_share", 0.1, 1e-9)
	if got := m["errors_by_status"].(map[string]any); got["404"] != 7.0 || got["503"] != 3.0 || len(got) != 2 {
		t.Fatalf("errors_by_status %v", got)
	}
	if got := m["errors_by_transport"].(map[string]any); got["timeout"] != 2.0 {
		t.Fatalf("errors_by_transport %v", got)
	}
	if _, ok := m["compare"]; ok {
		t.Fatal("compare present without a second target")
	}
}

func TestReportCompareRatios(t *testing.T) {
	rep := New(fixedResult(true))
	if rep.Compare == nil {
		t.Fatal("no compare section")
	}
	f := func(k string, want float64) {
		t.Helper()
		if got := rep.Ratios[k]; math.Abs(got-want) > 0.01 {
			t.Fatalf("ratio %s = %v, want %v", k, got, want)
		}
	}
	f("throughput", 0.5)
	f("p50_ms", 2)
	f("p99_ms", 2)
	f("max_ms", 2)
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var m struct {
		Compare map[string]any     `json:"compare"`
		Ratios  map[string]float64 `json:"ratios"`
	}
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil || m.Compare["p99_ms"] == nil || m.Ratios["throughput"] == 0 {
		t.Fatalf("compare JSON %s (%v)", buf.String(), err)
	}
}

func TestReportText(t *testing.T) {
	var buf bytes.Buffer
	if err := New(fixedResult(false)).WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"closed loop, 8 connections", "throughput (req/s)", "500.0", "p99.9 (ms)", "status 404", "transport timeout", "generator CPU: 0.40 s, 10.0% of 2 cores"} {
		if !strings.Contains(out, want) {
			t.Fatalf("text report lacks %q:\n%s", want, out)
		}
	}
}
