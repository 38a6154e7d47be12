package deploytest

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

const validDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  selector:
    matchLabels: {app: d}
  template:
    metadata:
      labels: {app: d}
    spec:
      containers:
        - name: c
          image: recotem
          resources:
            limits: {memory: 1Gi}
`

func TestDecodeValid(t *testing.T) {
	objs, err := DecodeAll([]byte("---\n# a comment only\n---\n" + validDeployment))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].Kind != "Deployment" || objs[0].Name != "d" {
		t.Fatalf("got %+v", objs)
	}
	d := objs[0].Value.(*appsv1.Deployment)
	if got := d.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String(); got != "1Gi" {
		t.Fatalf("memory %s", got)
	}
}

// The strict decode is what makes the helm/kustomize tests mean anything:
// a field the API does not have, at any depth, a duplicated key, a wrong
// type or an unknown kind must each be an error naming the culprit.
func TestDecodeRejects(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"unknown field deep in the pod spec",
			strings.Replace(validDeployment, "          image: recotem\n", "          image: recotem\n          imagePullPolicyy: Always\n", 1),
			"imagePullPolicyy"},
		{"unknown top-level spec field",
			strings.Replace(validDeployment, "spec:\n  selector:", "spec:\n  replica: 2\n  selector:", 1),
			"replica"},
		{"duplicate key",
			strings.Replace(validDeployment, "          image: recotem\n", "          image: recotem\n          image: other\n", 1),
			"image"},
		{"wrong type",
			strings.Replace(validDeployment, "spec:\n  selector:", "spec:\n  replicas: two\n  selector:", 1),
			"replicas"},
		{"unknown kind", "apiVersion: v1\nkind: Sekret\nmetadata: {name: s}\n", "Sekret"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeAll([]byte(c.doc))
			if err == nil {
				t.Fatalf("decoded cleanly:\n%s", c.doc)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error does not name %q: %v", c.want, err)
			}
		})
	}
}

func TestRequired(t *testing.T) {
	for _, c := range []struct {
		env, tool string
		want      bool
	}{
		{"", "helm", false},
		{"helm", "helm", true},
		{"kustomize, systemd", "systemd", true},
		{"kustomize,systemd", "helm", false},
		{"all", "helm", true},
	} {
		t.Setenv(RequireEnv, c.env)
		if got := Required(c.tool); got != c.want {
			t.Errorf("%s=%q Required(%s) = %v", RequireEnv, c.env, c.tool, got)
		}
	}
}
