package deploytest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Object is one decoded manifest: its kind and the typed value (a pointer
// to the k8s.io/api struct).
type Object struct {
	APIVersion, Kind, Name string
	Value                  any
}

// kinds maps apiVersion/kind to a constructor of the typed value. A kind
// missing here is an error: the deployment files use only these.
var kinds = map[string]func() any{
	"v1/ConfigMap":                            func() any { return new(corev1.ConfigMap) },
	"v1/Secret":                               func() any { return new(corev1.Secret) },
	"v1/Service":                              func() any { return new(corev1.Service) },
	"v1/ServiceAccount":                       func() any { return new(corev1.ServiceAccount) },
	"v1/PersistentVolumeClaim":                func() any { return new(corev1.PersistentVolumeClaim) },
	"apps/v1/Deployment":                      func() any { return new(appsv1.Deployment) },
	"batch/v1/CronJob":                        func() any { return new(batchv1.CronJob) },
	"policy/v1/PodDisruptionBudget":           func() any { return new(policyv1.PodDisruptionBudget) },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return new(monitoringv1.ServiceMonitor) },
}

// DecodeAll splits a multi-document YAML stream and decodes every
// non-empty document strictly: unknown fields, duplicate keys and type
// mismatches are errors, and so is an unknown apiVersion/kind. All errors
// are reported, each naming the document.
func DecodeAll(stream []byte) ([]Object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	var out []Object
	var errs []error
	for i := 0; ; i++ {
		doc, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if isEmptyDoc(doc) {
			continue
		}
		obj, err := Decode(doc)
		if err != nil {
			errs = append(errs, fmt.Errorf("document %d (%s): %w", i, describe(doc), err))
			continue
		}
		out = append(out, obj)
	}
	return out, errors.Join(errs...)
}

// Decode decodes one document strictly into its typed value.
func Decode(doc []byte) (Object, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return Object{}, err
	}
	mk, ok := kinds[head.APIVersion+"/"+head.Kind]
	if !ok {
		return Object{}, fmt.Errorf("unexpected apiVersion/kind %s/%s", head.APIVersion, head.Kind)
	}
	v := mk()
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		return Object{}, fmt.Errorf("strict decode into %T: %w", v, err)
	}
	return Object{APIVersion: head.APIVersion, Kind: head.Kind, Name: head.Metadata.Name, Value: v}, nil
}

func isEmptyDoc(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		t := strings.TrimSpace(line)
		if t != "" && t != "---" && !strings.HasPrefix(t, "#") {
			return false
		}
	}
	return true
}

// describe names a document by its Helm "# Source:" comment or kind/name.
func describe(doc []byte) string {
	var src, kind, name string
	for _, line := range strings.Split(string(doc), "\n") {
		switch {
		case strings.HasPrefix(line, "# Source: "):
			src = strings.TrimPrefix(line, "# Source: ")
		case strings.HasPrefix(line, "kind: ") && kind == "":
			kind = strings.TrimPrefix(line, "kind: ")
		case strings.HasPrefix(line, "  name: ") && name == "":
			name = strings.TrimPrefix(line, "  name: ")
		}
	}
	if src != "" {
		return src
	}
	return kind + "/" + name
}
