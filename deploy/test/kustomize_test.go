package deploytest

import (
	"path/filepath"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomize is used as a library (the same build `kustomize build` and
// `kubectl apply -k` run), so it is never missing.
func kustomizeBuild(t *testing.T, dir string) []byte {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := res.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestKustomize(t *testing.T) {
	root := filepath.Join(RepoRoot(t), "deploy", "kustomize")
	cases := []struct {
		dir  string
		want Expect
	}{
		// (256+0+32)×1 + 1024 MiB
		{"base", Expect{ServeDeployment: true, CronJobs: 1, PVC: true, ServeMemory: "1312Mi"}},
		// (512+32)×10 + 1024 MiB
		{"overlays/production", Expect{ServeDeployment: true, CronJobs: 1, PVC: true, ServeMemory: "6464Mi"}},
		{"overlays/object-store", Expect{ServeDeployment: true, CronJobs: 1, ServeMemory: "1312Mi"}},
	}
	for _, c := range cases {
		t.Run(c.dir, func(t *testing.T) {
			decodeAndCheck(t, "kustomize build "+c.dir, kustomizeBuild(t, filepath.Join(root, c.dir)), c.want)
		})
	}
}
