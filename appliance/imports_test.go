package appliance

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/recotem/recotem/internal/testenv"
)

// TestImportRules: appliance never imports the trainer (architecture.md).
func TestImportRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/recotem/recotem/appliance/...").Output()
	testenv.Require(t, testenv.GoTool, err == nil, "go list: %v", err)
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/recotem/recotem/trainer") || strings.HasPrefix(p, "github.com/recotem/recotem/bench") {
			t.Errorf("appliance depends on %s", p)
		}
	}
}
