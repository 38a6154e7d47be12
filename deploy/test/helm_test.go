package deploytest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const helmInstall = "go install helm.sh/helm/v4/cmd/helm@v4.3.2"

// helmCases: every values file of the chart's ci/ directory (plus the bare
// defaults) and what its rendering must hold. The memory figures are the
// runbook's formula, (avg artifact + avg metadata + result cache) MiB ×
// recipes + overhead MiB, worked by hand.
var helmCases = []struct {
	name, values string
	want         Expect
}{
	{"defaults", "", Expect{ServeDeployment: true, CronJobs: 0, PVC: true,
		ServeMemory: "1024Mi"}}, // no recipes: (256+0+32)×0 + 1024
	{"default", "ci/default-values.yaml", Expect{ServeDeployment: true, CronJobs: 1, PVC: true,
		ServeMemory: "1312Mi"}}, // (256+0+32)×1 + 1024
	{"sidecar", "ci/sidecar-values.yaml", Expect{Sidecar: true, CronJobs: 0, PVC: true,
		ServeMemory: ""}}, // the sidecar's own: (64+0+32)×0 + 256, checked below
	{"object-store", "ci/object-store-values.yaml", Expect{ServeDeployment: true, CronJobs: 2,
		ServiceMonitor: true, ServeMemory: "2240Mi"}}, // (512+64+32)×2 + 1024
}

func chartDir(t *testing.T) string {
	return filepath.Join(RepoRoot(t), "deploy", "helm", "recotem")
}

func helmRun(t *testing.T, helm string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(helm, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// No repositories or plugins are needed: keep helm off the user's config.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%w\n%s", err, stderr.Bytes())
	}
	return out, nil
}

func TestHelmLint(t *testing.T) {
	helm := NeedTool(t, "helm", "helm", helmInstall)
	dir := chartDir(t)
	for _, c := range helmCases {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"lint", "--strict", dir}
			if c.values != "" {
				args = append(args, "-f", filepath.Join(dir, c.values))
			}
			out, err := helmRun(t, helm, args...)
			if err != nil {
				t.Fatalf("helm lint %s: %v\n%s", c.values, err, out)
			}
		})
	}
}

func render(t *testing.T, helm, dir, values string, extra ...string) []byte {
	t.Helper()
	args := []string{"template", "rel", dir, "--namespace", "recs"}
	if values != "" {
		args = append(args, "-f", filepath.Join(dir, values))
	}
	args = append(args, extra...)
	out, err := helmRun(t, helm, args...)
	if err != nil {
		t.Fatalf("helm template %s: %v", values, err)
	}
	return out
}

func TestHelmTemplate(t *testing.T) {
	helm := NeedTool(t, "helm", "helm", helmInstall)
	dir := chartDir(t)
	for _, c := range helmCases {
		t.Run(c.name, func(t *testing.T) {
			decodeAndCheck(t, "helm template -f "+c.values, render(t, helm, dir, c.values), c.want)
		})
	}
}

// The sidecar's memory comes from the same formula with its own sizing.
func TestHelmSidecarMemory(t *testing.T) {
	helm := NeedTool(t, "helm", "helm", helmInstall)
	out := render(t, helm, chartDir(t), "ci/sidecar-values.yaml")
	if !bytes.Contains(out, []byte("memory: 256Mi")) {
		t.Fatalf("sidecar: want memory 256Mi ((64+0+32)×0 recipes + 256) in:\n%s", out)
	}
}

// The chart refuses a drain window outside RECOTEM_DRAIN_SECONDS's range
// and follows a changed one in the grace period.
func TestHelmDrainGrace(t *testing.T) {
	helm := NeedTool(t, "helm", "helm", helmInstall)
	dir := chartDir(t)
	out := render(t, helm, dir, "ci/default-values.yaml", "--set", "serve.drainSeconds=120")
	if !bytes.Contains(out, []byte("terminationGracePeriodSeconds: 125")) {
		t.Fatal("drainSeconds=120 did not give terminationGracePeriodSeconds: 125")
	}
	decodeAndCheck(t, "drainSeconds=120", out, Expect{ServeDeployment: true, CronJobs: 1, PVC: true})
	if _, err := helmRun(t, helm, "template", "rel", dir, "--set", "serve.drainSeconds=301"); err == nil {
		t.Fatal("serve.drainSeconds=301 rendered; want a failure")
	}
}

// A deliberately wrong field in the chart must fail the test: a copy of the
// chart whose Deployment template carries a misspelt field renders with
// helm (which does not validate without a cluster) and the strict decode
// rejects it, naming the field.
func TestHelmInjectedUnknownFieldFails(t *testing.T) {
	helm := NeedTool(t, "helm", "helm", helmInstall)
	src := chartDir(t)
	dst := filepath.Join(t.TempDir(), "recotem")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	tpl := filepath.Join(dst, "templates", "serve-deployment.yaml")
	b, err := os.ReadFile(tpl)
	if err != nil {
		t.Fatal(err)
	}
	const anchor = "      terminationGracePeriodSeconds:"
	if !bytes.Contains(b, []byte(anchor)) {
		t.Fatal("anchor not found in serve-deployment.yaml")
	}
	b = bytes.Replace(b, []byte(anchor), []byte("      terminationGracePeriod: 35\n"+anchor), 1)
	if err := os.WriteFile(tpl, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := render(t, helm, dst, "ci/default-values.yaml")
	_, err = DecodeAll(out)
	if err == nil {
		t.Fatal("a Deployment with the unknown field terminationGracePeriod decoded cleanly")
	}
	if !strings.Contains(err.Error(), "terminationGracePeriod") {
		t.Fatalf("error does not name the field: %v", err)
	}
	t.Logf("rejected as wanted: %v", err)
}

func kindsOf(objs []Object) string {
	var s []string
	for _, o := range objs {
		s = append(s, o.Kind+"/"+o.Name)
	}
	return strings.Join(s, " ")
}

// decodeAndCheck decodes a rendering strictly and applies the rules.
func decodeAndCheck(t *testing.T, what string, out []byte, want Expect) {
	t.Helper()
	objs, err := DecodeAll(out)
	if err != nil {
		t.Fatalf("strict decode of %s:\n%v", what, err)
	}
	if err := Check(objs, want); err != nil {
		t.Fatalf("rules (%s):\n%v", what, err)
	}
	t.Logf("%s: %d objects decoded strictly: %s", what, len(objs), kindsOf(objs))
}

// values.schema.json refuses unknown keys: a misspelt setting fails the
// render instead of being ignored.
func TestHelmValuesSchemaRejectsUnknownKey(t *testing.T) {
	helm := NeedTool(t, "helm", "helm", helmInstall)
	dir := chartDir(t)
	for _, set := range []string{"serve.replica=3", "train.concurrencyPolicy=Allow", "sidecar.socket=/x"} {
		out, err := helmRun(t, helm, "template", "rel", dir, "--set", set)
		if err == nil {
			t.Errorf("--set %s rendered:\n%.300s", set, out)
			continue
		}
		if !strings.Contains(err.Error(), "additional properties") {
			t.Errorf("--set %s: error does not say why: %v", set, err)
		}
	}
}
