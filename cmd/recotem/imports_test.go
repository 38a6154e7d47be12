package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// importRule is one row of docs/architecture.md's imports block.
type importRule struct {
	pkg   string   // "format" or "internal/..."
	allow []string // patterns
}

// matches reports whether pkg matches pattern p ("x" or "x/...").
func matches(p, pkg string) bool {
	if base, ok := strings.CutSuffix(p, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == p
}

// readImportRules parses the ```imports block of docs/architecture.md.
func readImportRules(t *testing.T) []importRule {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```imports\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/architecture.md has no ```imports block")
	}
	var rules []importRule
	for _, line := range strings.Split(strings.TrimSpace(string(m[1])), "\n") {
		left, right, ok := strings.Cut(line, "->")
		if !ok {
			t.Fatalf("imports block: %q has no ->", line)
		}
		rules = append(rules, importRule{pkg: strings.TrimSpace(left), allow: strings.Fields(right)})
	}
	return rules
}

// ruleFor picks the most specific row matching pkg.
func ruleFor(rules []importRule, pkg string) (importRule, bool) {
	best, found := importRule{}, false
	for _, r := range rules {
		if matches(r.pkg, pkg) && (!found || len(r.pkg) > len(best.pkg)) {
			best, found = r, true
		}
	}
	return best, found
}

// TestImportRulesMatchArchitecture: the import graph go list reports is the
// one docs/architecture.md draws (the one-way flow of architecture.md and
// style.md #19: trainer → format → (file) → format → scoring ← appliance,
// only cmd/recotem imports trainer or appliance).
func TestImportRulesMatchArchitecture(t *testing.T) {
	rules := readImportRules(t)
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...")
	cmd.Dir = repoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/recotem/recotem/"
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, ok := strings.CutPrefix(f[0], mod)
		if !ok {
			continue
		}
		r, ok := ruleFor(rules, pkg)
		if !ok {
			t.Errorf("%s is in no row of docs/architecture.md's imports table", pkg)
			continue
		}
		checked++
		for _, imp := range f[1:] {
			imp, ok := strings.CutPrefix(imp, mod)
			if !ok {
				continue
			}
			allowed := false
			for _, p := range r.allow {
				allowed = allowed || matches(p, imp)
			}
			if !allowed {
				t.Errorf("%s imports %s, which docs/architecture.md's row %q does not allow", pkg, imp, r.pkg)
			}
		}
	}
	if checked < 30 {
		t.Fatalf("only %d packages checked", checked)
	}
}

// TestImportRulesCatchViolations: the checker rejects what the table forbids.
func TestImportRulesCatchViolations(t *testing.T) {
	rules := readImportRules(t)
	allowed := func(pkg, imp string) bool {
		r, ok := ruleFor(rules, pkg)
		if !ok {
			return false
		}
		for _, p := range r.allow {
			if matches(p, imp) {
				return true
			}
		}
		return false
	}
	for _, bad := range [][2]string{
		{"format", "scoring"}, {"scoring", "internal/logx"}, {"appliance/registry", "trainer/algo"},
		{"trainer", "appliance"}, {"internal/recipe", "trainer/algo"}, {"bench", "scoring"}, {"tools/inspect", "appliance"},
	} {
		if allowed(bad[0], bad[1]) {
			t.Errorf("%s → %s passes the table", bad[0], bad[1])
		}
	}
	for _, good := range [][2]string{{"scoring", "format"}, {"appliance/registry", "scoring"}, {"cmd/recotem", "trainer"}, {"trainer/search/sqlstore", "trainer/search"}} {
		if !allowed(good[0], good[1]) {
			t.Errorf("%s → %s fails the table", good[0], good[1])
		}
	}
	if _, ok := ruleFor(rules, "newtoplevel"); ok {
		t.Error("an unknown top-level package matched a row")
	}
}
