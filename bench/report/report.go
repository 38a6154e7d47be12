// Package report owns what a load-generation run measured and how it is
// told: Result (per target the latency, send-lag, receive-delay and
// client-observed histograms, responses by status, failures by transport
// cause, the unsent backlog; the generator's CPU use), its summary Report
// with B/A ratios for a compare run, and the two outputs of `recotem
// bench`: an aligned text table and one JSON object. Package bench fills
// a Result; nothing here measures.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// TargetReport is the summary of one target. Latencies are milliseconds.
type TargetReport struct {
	Target            string            `json:"target"`
	DurationS         float64           `json:"duration_s"`
	Requests          uint64            `json:"requests"`  // responses + transport errors + unsent
	Responses         uint64            `json:"responses"` // HTTP responses of any status
	Throughput        float64           `json:"throughput"`
	P50ms             float64           `json:"p50_ms"`
	P90ms             float64           `json:"p90_ms"`
	P99ms             float64           `json:"p99_ms"`
	P999ms            float64           `json:"p999_ms"`
	MaxMs             float64           `json:"max_ms"`
	MeanMs            float64           `json:"mean_ms"`
	Errors            uint64            `json:"errors"` // non-2xx + transport + unsent
	ErrorsByStatus    map[string]uint64 `json:"errors_by_status"`
	ErrorsByTransport map[string]uint64 `json:"errors_by_transport"`
	Unsent            uint64            `json:"unsent"`
	// Open loop: how late requests left after their scheduled start (waiting
	// for a free connection, or the generator's timer). Large values with
	// few connections mean the backlog queued in the client.
	SendLagP50ms float64 `json:"send_lag_p50_ms,omitempty"`
	SendLagP99ms float64 `json:"send_lag_p99_ms,omitempty"`
	// Latency ends when a response's last byte reached the socket (kernel
	// receive timestamp) for KernelStamped of the responses, else when it
	// was parsed; RecvDelay is the generator's own time between the two
	// (wake-up, read, parse), not part of the latency above.
	KernelStamped  uint64  `json:"kernel_stamped"`
	RecvDelayP50ms float64 `json:"recv_delay_p50_ms,omitempty"`
	RecvDelayP99ms float64 `json:"recv_delay_p99_ms,omitempty"`
	// Client-observed latency: ending when the generator had parsed the
	// response, the interval wrk and most generators report (it includes
	// the generator's own recv delay). Equal to the above without
	// kernel timestamps.
	ClientP50ms  float64 `json:"client_p50_ms,omitempty"`
	ClientP99ms  float64 `json:"client_p99_ms,omitempty"`
	ClientP999ms float64 `json:"client_p999_ms,omitempty"`
}

// Report is the summary of a run; MarshalJSON-ready (the `--json` output).
// Its top-level target fields describe the first target; Compare and Ratios
// (compare / first) are set only for a compare run.
type Report struct {
	Mode        string  `json:"mode"`
	Connections int     `json:"connections"`
	Rate        float64 `json:"rate"`
	TargetReport
	CPUSeconds float64            `json:"cpu_seconds"`
	CPUShare   float64            `json:"cpu_share"` // of all cores over the run
	Cores      int                `json:"cores"`
	Compare    *TargetReport      `json:"compare,omitempty"`
	Ratios     map[string]float64 `json:"ratios,omitempty"`
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

func targetReport(t TargetResult) TargetReport {
	h := t.Latency
	tr := TargetReport{
		Target:            t.Name,
		DurationS:         t.Elapsed.Seconds(),
		Responses:         t.Responses,
		P50ms:             ms(h.Quantile(0.50)),
		P90ms:             ms(h.Quantile(0.90)),
		P99ms:             ms(h.Quantile(0.99)),
		P999ms:            ms(h.Quantile(0.999)),
		MaxMs:             ms(h.Max()),
		MeanMs:            h.Mean() / 1e6,
		ErrorsByStatus:    map[string]uint64{},
		ErrorsByTransport: map[string]uint64{},
		Unsent:            t.Unsent,
	}
	if t.SendLag != nil && t.SendLag.Count() > 0 {
		tr.SendLagP50ms = ms(t.SendLag.Quantile(0.5))
		tr.SendLagP99ms = ms(t.SendLag.Quantile(0.99))
	}
	if t.Client != nil && t.Client.Count() > 0 {
		tr.ClientP50ms = ms(t.Client.Quantile(0.5))
		tr.ClientP99ms = ms(t.Client.Quantile(0.99))
		tr.ClientP999ms = ms(t.Client.Quantile(0.999))
	}
	if t.RecvDelay != nil && t.RecvDelay.Count() > 0 {
		tr.KernelStamped = t.RecvDelay.Count()
		tr.RecvDelayP50ms = ms(t.RecvDelay.Quantile(0.5))
		tr.RecvDelayP99ms = ms(t.RecvDelay.Quantile(0.99))
	}
	if s := t.Elapsed.Seconds(); s > 0 {
		tr.Throughput = float64(t.Responses) / s
	}
	tr.Requests = t.Responses + t.Unsent
	tr.Errors = t.Unsent
	for code, n := range t.Status {
		if code < 200 || code > 299 {
			tr.ErrorsByStatus[strconv.Itoa(code)] += n
			tr.Errors += n
		}
	}
	for k, n := range t.Transport {
		tr.ErrorsByTransport[k] += n
		tr.Errors += n
		tr.Requests += n
	}
	return tr
}

// New summarises r.
func New(r *Result) Report {
	rep := Report{Mode: r.Mode, Connections: r.Connections, Rate: r.Rate, Cores: r.CPU.Cores}
	rep.CPUSeconds = (r.CPU.User + r.CPU.System).Seconds()
	rep.CPUShare = r.CPU.Share()
	if len(r.Targets) > 0 {
		rep.TargetReport = targetReport(r.Targets[0])
	}
	if len(r.Targets) > 1 {
		b := targetReport(r.Targets[1])
		rep.Compare = &b
		a := &rep.TargetReport
		rep.Ratios = map[string]float64{
			"throughput": ratio(b.Throughput, a.Throughput),
			"p50_ms":     ratio(b.P50ms, a.P50ms),
			"p90_ms":     ratio(b.P90ms, a.P90ms),
			"p99_ms":     ratio(b.P99ms, a.P99ms),
			"p999_ms":    ratio(b.P999ms, a.P999ms),
			"max_ms":     ratio(b.MaxMs, a.MaxMs),
		}
	}
	return rep
}

// ratio is b/a, 0 when a is 0 (JSON has no Inf).
func ratio(b, a float64) float64 {
	if a == 0 {
		return 0
	}
	return b / a
}

// WriteJSON writes the report as one JSON object and a newline.
func (rep Report) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteText writes the report as an aligned table.
func (rep Report) WriteText(w io.Writer) error {
	var sb strings.Builder
	loop := fmt.Sprintf("closed loop, %d connections", rep.Connections)
	if rep.Mode == "open" {
		loop = fmt.Sprintf("open loop at %.6g req/s, up to %d in flight (latency from scheduled start)", rep.Rate, rep.Connections)
	}
	fmt.Fprintf(&sb, "recotem bench: %s\n", loop)
	tw := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', tabwriter.AlignRight)
	cols := []*TargetReport{&rep.TargetReport}
	if rep.Compare != nil {
		cols = append(cols, rep.Compare)
	}
	row := func(label string, f func(*TargetReport) string, ratio string) {
		fmt.Fprintf(tw, "%s\t", label)
		for _, c := range cols {
			fmt.Fprintf(tw, "%s\t", f(c))
		}
		if rep.Compare != nil {
			if r, ok := rep.Ratios[ratio]; ok && ratio != "" {
				fmt.Fprintf(tw, "%.3f\t", r)
			} else {
				fmt.Fprint(tw, "\t")
			}
		}
		fmt.Fprintln(tw)
	}
	fl := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	if rep.Compare != nil {
		fmt.Fprintf(tw, "\tA\tB\tB/A\t\n")
	}
	row("target", func(c *TargetReport) string { return c.Target }, "")
	row("duration (s)", func(c *TargetReport) string { return fl(c.DurationS) }, "")
	row("requests", func(c *TargetReport) string { return strconv.FormatUint(c.Requests, 10) }, "")
	row("throughput (req/s)", func(c *TargetReport) string { return strconv.FormatFloat(c.Throughput, 'f', 1, 64) }, "throughput")
	row("latency p50 (ms)", func(c *TargetReport) string { return fl(c.P50ms) }, "p50_ms")
	row("p90 (ms)", func(c *TargetReport) string { return fl(c.P90ms) }, "p90_ms")
	row("p99 (ms)", func(c *TargetReport) string { return fl(c.P99ms) }, "p99_ms")
	row("p99.9 (ms)", func(c *TargetReport) string { return fl(c.P999ms) }, "p999_ms")
	row("max (ms)", func(c *TargetReport) string { return fl(c.MaxMs) }, "max_ms")
	row("mean (ms)", func(c *TargetReport) string { return fl(c.MeanMs) }, "")
	row("errors", func(c *TargetReport) string { return strconv.FormatUint(c.Errors, 10) }, "")
	for _, k := range errorKeys(cols, func(c *TargetReport) map[string]uint64 { return c.ErrorsByStatus }) {
		row("status "+k, func(c *TargetReport) string { return strconv.FormatUint(c.ErrorsByStatus[k], 10) }, "")
	}
	for _, k := range errorKeys(cols, func(c *TargetReport) map[string]uint64 { return c.ErrorsByTransport }) {
		row("transport "+k, func(c *TargetReport) string { return strconv.FormatUint(c.ErrorsByTransport[k], 10) }, "")
	}
	if rep.Mode == "open" {
		row("unsent", func(c *TargetReport) string { return strconv.FormatUint(c.Unsent, 10) }, "")
		row("send lag p50 (ms)", func(c *TargetReport) string { return fl(c.SendLagP50ms) }, "")
		row("send lag p99 (ms)", func(c *TargetReport) string { return fl(c.SendLagP99ms) }, "")
	}
	if rep.KernelStamped > 0 || (rep.Compare != nil && rep.Compare.KernelStamped > 0) {
		row("kernel-stamped", func(c *TargetReport) string { return strconv.FormatUint(c.KernelStamped, 10) }, "")
		row("recv delay p50 (ms)", func(c *TargetReport) string { return fl(c.RecvDelayP50ms) }, "")
		row("recv delay p99 (ms)", func(c *TargetReport) string { return fl(c.RecvDelayP99ms) }, "")
		row("client-observed p50 (ms)", func(c *TargetReport) string { return fl(c.ClientP50ms) }, "")
		row("client-observed p99 (ms)", func(c *TargetReport) string { return fl(c.ClientP99ms) }, "")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rep.Cores > 0 && rep.CPUSeconds > 0 {
		fmt.Fprintf(&sb, "generator CPU: %.2f s, %.1f%% of %d cores\n", rep.CPUSeconds, 100*rep.CPUShare, rep.Cores)
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func errorKeys(cols []*TargetReport, m func(*TargetReport) map[string]uint64) []string {
	seen := map[string]bool{}
	var keys []string
	for _, c := range cols {
		for k := range m(c) {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}
