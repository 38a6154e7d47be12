package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The one-way data flow (architecture.md, style.md #19): trainer → format →
// (file) → format → scoring ← appliance. format imports neither scoring,
// appliance nor trainer; scoring imports neither appliance nor trainer; and
// no package but cmd/recotem imports appliance or trainer.
func TestImportRules(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...")
	cmd.Dir = repoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/recotem/recotem/"
	under := func(pkg, area string) bool {
		return pkg == mod+area || strings.HasPrefix(pkg, mod+area+"/")
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, imports := f[0], f[1:]
		checked++
		for _, imp := range imports {
			switch {
			case under(pkg, "cmd/recotem"):
			case under(imp, "appliance") && !under(pkg, "appliance"):
				t.Errorf("%s imports %s: only cmd/recotem may import appliance", pkg, imp)
			case under(imp, "trainer") && !under(pkg, "trainer"):
				t.Errorf("%s imports %s: only cmd/recotem may import trainer", pkg, imp)
			case under(pkg, "format") && (under(imp, "scoring") || under(imp, "tools") || under(imp, "bench") || under(imp, "internal")):
				t.Errorf("%s imports %s: format knows nothing above it", pkg, imp)
			case under(pkg, "scoring") && (under(imp, "tools") || under(imp, "bench") || under(imp, "internal")):
				t.Errorf("%s imports %s: scoring imports only format", pkg, imp)
			case under(pkg, "internal") && (under(imp, "tools") || under(imp, "bench") || under(imp, "scoring")):
				t.Errorf("%s imports %s: internal/ is infrastructure below the products", pkg, imp)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d packages listed", checked)
	}
}
