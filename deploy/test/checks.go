package deploytest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
)

// ValidateRecipe checks one recipe file's text (name is its ConfigMap
// key); nil means recipes are not checked. The tests set it to run
// `recotem validate` on the text.
var ValidateRecipe func(name, text string) error

// Expect says what a rendering must contain beyond the rules every
// rendering obeys.
type Expect struct {
	ServeDeployment bool   // a serve Deployment with Service and PDB
	Sidecar         bool   // a Deployment whose recotem container serves on --uds
	CronJobs        int    // train CronJobs (one per recipe)
	ServeMemory     string // serve container memory limit (runbook formula), "" = unchecked
	ServiceMonitor  bool
	PVC             bool // a PersistentVolumeClaim is rendered
}

// defaultDrainSeconds is RECOTEM_DRAIN_SECONDS's default.
const defaultDrainSeconds = 30

type pod struct {
	owner string
	spec  *corev1.PodSpec
	meta  map[string]string // pod template labels
}

// Check applies the deployment rules to a rendered set and returns every
// violation.
func Check(objs []Object, want Expect) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	configMaps := map[string]*corev1.ConfigMap{}
	var pods []pod
	var services []*corev1.Service
	var pdbs []*policyv1.PodDisruptionBudget
	var monitors []*monitoringv1.ServiceMonitor
	var serveDeployments, sidecars, cronJobs, pvcs int
	var serveLabels map[string]string

	for _, o := range objs {
		switch v := o.Value.(type) {
		case *corev1.ConfigMap:
			configMaps[v.Name] = v
		case *corev1.Service:
			services = append(services, v)
		case *policyv1.PodDisruptionBudget:
			pdbs = append(pdbs, v)
		case *monitoringv1.ServiceMonitor:
			monitors = append(monitors, v)
		case *corev1.PersistentVolumeClaim:
			pvcs++
		case *appsv1.Deployment:
			pods = append(pods, pod{"Deployment/" + v.Name, &v.Spec.Template.Spec, v.Spec.Template.Labels})
			if v.Spec.Selector == nil {
				bad("Deployment/%s: no selector", v.Name)
			} else if sel, err := metaSelector(v.Spec.Selector.MatchLabels); err != nil || !sel.Matches(labels.Set(v.Spec.Template.Labels)) {
				bad("Deployment/%s: selector %v does not match its pod labels %v", v.Name, v.Spec.Selector.MatchLabels, v.Spec.Template.Labels)
			}
			for _, c := range v.Spec.Template.Spec.Containers {
				if len(c.Args) == 0 || c.Args[0] != "serve" {
					continue
				}
				if slices.Contains(c.Args, "--uds") {
					sidecars++
					checkSidecar(v, c, bad)
				} else {
					serveDeployments++
					serveLabels = v.Spec.Template.Labels
					checkServe(v, c, want, bad)
				}
			}
		case *batchv1.CronJob:
			cronJobs++
			spec := &v.Spec.JobTemplate.Spec.Template.Spec
			pods = append(pods, pod{"CronJob/" + v.Name, spec, v.Spec.JobTemplate.Spec.Template.Labels})
			if v.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
				bad("CronJob/%s: concurrencyPolicy %q, want Forbid (train's lock is host-local)", v.Name, v.Spec.ConcurrencyPolicy)
			}
			if spec.RestartPolicy != corev1.RestartPolicyNever && spec.RestartPolicy != corev1.RestartPolicyOnFailure {
				bad("CronJob/%s: restartPolicy %q", v.Name, spec.RestartPolicy)
			}
		}
	}

	for _, p := range pods {
		checkPod(p, configMaps, bad)
	}

	// Recipes: every *.yaml in a ConfigMap mounted at /recipes is a recipe
	// recotem accepts.
	seen := map[string]bool{}
	for _, p := range pods {
		for _, cm := range recipeConfigMaps(p, configMaps, bad) {
			if seen[cm.Name] {
				continue
			}
			seen[cm.Name] = true
			for key, text := range cm.Data {
				if !strings.HasSuffix(key, ".yaml") {
					continue
				}
				if ValidateRecipe == nil {
					continue
				}
				if err := ValidateRecipe(key, text); err != nil {
					bad("ConfigMap/%s %s: not a valid recipe: %v", cm.Name, key, err)
				}
			}
		}
	}

	if want.ServeDeployment {
		if serveDeployments != 1 {
			bad("want one serve Deployment, got %d", serveDeployments)
		} else {
			if !slices.ContainsFunc(services, func(s *corev1.Service) bool { return selects(s.Spec.Selector, serveLabels) }) {
				bad("no Service selects the serve pods %v", serveLabels)
			}
			if !slices.ContainsFunc(pdbs, func(b *policyv1.PodDisruptionBudget) bool {
				return b.Spec.Selector != nil && selects(b.Spec.Selector.MatchLabels, serveLabels)
			}) {
				bad("no PodDisruptionBudget selects the serve pods %v", serveLabels)
			}
		}
	} else if serveDeployments != 0 {
		bad("want no serve Deployment, got %d", serveDeployments)
	}
	if want.Sidecar != (sidecars > 0) {
		bad("sidecar Deployment: want %v, got %d", want.Sidecar, sidecars)
	}
	if cronJobs != want.CronJobs {
		bad("want %d train CronJobs, got %d", want.CronJobs, cronJobs)
	}
	if want.PVC != (pvcs > 0) {
		bad("PersistentVolumeClaim: want %v, got %d", want.PVC, pvcs)
	}
	if want.ServiceMonitor != (len(monitors) > 0) {
		bad("ServiceMonitor: want %v, got %d", want.ServiceMonitor, len(monitors))
	}
	for _, m := range monitors {
		ok := slices.ContainsFunc(services, func(s *corev1.Service) bool {
			return selects(m.Spec.Selector.MatchLabels, s.Labels) &&
				slices.ContainsFunc(m.Spec.Endpoints, func(e monitoringv1.Endpoint) bool {
					return slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == e.Port })
				})
		})
		if !ok {
			bad("ServiceMonitor/%s selects no Service with its endpoint port", m.Name)
		}
	}
	return errors.Join(errs...)
}

func metaSelector(m map[string]string) (labels.Selector, error) {
	if len(m) == 0 {
		return nil, errors.New("empty selector")
	}
	return labels.SelectorFromSet(m), nil
}

// selects reports whether a non-empty selector matches the labels.
func selects(sel, lbl map[string]string) bool {
	s, err := metaSelector(sel)
	return err == nil && s.Matches(labels.Set(lbl))
}

func envOf(c corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

func checkServe(d *appsv1.Deployment, c corev1.Container, want Expect, bad func(string, ...any)) {
	name := "Deployment/" + d.Name
	drain := defaultDrainSeconds
	if e, ok := envOf(c, "RECOTEM_DRAIN_SECONDS"); ok {
		n, err := strconv.Atoi(e.Value)
		if err != nil || n < 1 || n > 300 {
			bad("%s: RECOTEM_DRAIN_SECONDS %q is not within [1, 300]", name, e.Value)
		}
		drain = n
	}
	grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil || *grace < int64(drain+5) {
		bad("%s: terminationGracePeriodSeconds %v < RECOTEM_DRAIN_SECONDS (%d) + 5", name, ptrStr(grace), drain)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil ||
		(c.ReadinessProbe.HTTPGet.Path != "/health" && c.ReadinessProbe.HTTPGet.Path != "/v1/health") {
		bad("%s: readiness probe must GET /health or /v1/health", name)
	}
	if c.LivenessProbe == nil || c.StartupProbe == nil {
		bad("%s: liveness and startup probes are required", name)
	}
	if e, ok := envOf(c, "RECOTEM_HOST"); !ok || e.Value != "0.0.0.0" {
		bad("%s: RECOTEM_HOST must be 0.0.0.0 for the Service to reach it", name)
	}
	if _, ok := envOf(c, "RECOTEM_API_KEYS"); !ok {
		bad("%s: a serve Deployment behind a Service needs RECOTEM_API_KEYS (without it serve binds 127.0.0.1 only)", name)
	}
	if e, ok := envOf(c, "RECOTEM_ALLOWED_HOSTS"); !ok || !strings.Contains(e.Value, "localhost") {
		bad("%s: RECOTEM_ALLOWED_HOSTS must admit the probes' Host: localhost", name)
	}
	if d.Spec.Replicas != nil && *d.Spec.Replicas < 1 {
		bad("%s: replicas %d", name, *d.Spec.Replicas)
	}
	mem := c.Resources.Limits.Memory()
	if mem.IsZero() {
		bad("%s: no memory limit (size it with the runbook's formula)", name)
	} else if req := c.Resources.Requests.Memory(); req.Cmp(*mem) != 0 {
		bad("%s: memory request %s != limit %s (models are mapped, not burst)", name, req, mem)
	}
	if want.ServeMemory != "" {
		w := resource.MustParse(want.ServeMemory)
		if mem.Cmp(w) != 0 {
			bad("%s: memory limit %s, the runbook's formula gives %s", name, mem, want.ServeMemory)
		}
	}
	for _, m := range c.VolumeMounts {
		if m.MountPath == "/data" && !m.ReadOnly {
			bad("%s: serve mounts /data read-write; it only reads artifacts", name)
		}
	}
}

func checkSidecar(d *appsv1.Deployment, c corev1.Container, bad func(string, ...any)) {
	name := "Deployment/" + d.Name
	sock := c.Args[slices.Index(c.Args, "--uds")+1]
	var vol string
	for _, m := range c.VolumeMounts {
		if strings.HasPrefix(sock, strings.TrimSuffix(m.MountPath, "/")+"/") {
			vol = m.Name
		}
	}
	if vol == "" {
		bad("%s: the socket %s is on no mounted volume", name, sock)
		return
	}
	if i := slices.IndexFunc(d.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == vol }); i < 0 ||
		d.Spec.Template.Spec.Volumes[i].EmptyDir == nil {
		bad("%s: the socket volume %s must be an emptyDir", name, vol)
	}
	shared := 0
	for _, other := range d.Spec.Template.Spec.Containers {
		if other.Name != c.Name && slices.ContainsFunc(other.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == vol }) {
			shared++
		}
	}
	if shared == 0 {
		bad("%s: no other container mounts the socket volume %s", name, vol)
	}
	if e, ok := envOf(c, "RECOTEM_HOST"); ok && e.Value != "127.0.0.1" {
		bad("%s: a sidecar should listen on loopback only, RECOTEM_HOST=%s", name, e.Value)
	}
	grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil || *grace < defaultDrainSeconds+5 {
		bad("%s: terminationGracePeriodSeconds %v < drain + 5", name, ptrStr(grace))
	}
}

func checkPod(p pod, configMaps map[string]*corev1.ConfigMap, bad func(string, ...any)) {
	psc := p.spec.SecurityContext
	podNonRoot := psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		bad("%s: pod seccompProfile must be RuntimeDefault", p.owner)
	}
	if p.spec.AutomountServiceAccountToken == nil || *p.spec.AutomountServiceAccountToken {
		bad("%s: automountServiceAccountToken must be false (recotem never calls the API server)", p.owner)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range p.spec.Volumes {
		volumes[v.Name] = v
		// The API server wants exactly one source per volume; a patch that
		// adds one without removing the other renders fine but is refused.
		if n := volumeSources(v.VolumeSource); n != 1 {
			bad("%s: volume %s has %d sources, want 1", p.owner, v.Name, n)
		}
	}
	for _, c := range append(slices.Clone(p.spec.InitContainers), p.spec.Containers...) {
		where := p.owner + " container " + c.Name
		sc := c.SecurityContext
		if sc == nil {
			bad("%s: no securityContext", where)
			continue
		}
		if !podNonRoot && (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
			bad("%s: runAsNonRoot is not set", where)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			bad("%s: readOnlyRootFilesystem must be true", where)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			bad("%s: allowPrivilegeEscalation must be false", where)
		}
		if sc.Privileged != nil && *sc.Privileged {
			bad("%s: privileged", where)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			bad("%s: capabilities must drop ALL and add none", where)
		}
		for _, e := range c.Env {
			if e.Name == "RECOTEM_SIGNING_KEYS" || e.Name == "RECOTEM_API_KEYS" {
				if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					bad("%s: %s must come from a Secret (secretKeyRef), not a literal", where, e.Name)
				}
			}
		}
		for _, m := range c.VolumeMounts {
			if _, ok := volumes[m.Name]; !ok {
				bad("%s: mounts volume %q that the pod does not define", where, m.Name)
			}
		}
		if len(c.Args) >= 2 && c.Args[0] == "train" {
			checkTrainArgs(p, c, configMaps, bad)
		}
		if len(c.Args) >= 1 && (c.Args[0] == "serve" || c.Args[0] == "train") {
			if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/tmp" }) {
				bad("%s: no writable /tmp (train's remote-output locks, temp files) under a read-only root", where)
			}
		}
	}
}

// checkTrainArgs: `train /recipes/NAME.yaml` names a recipe present in the
// ConfigMap mounted at /recipes.
func checkTrainArgs(p pod, c corev1.Container, configMaps map[string]*corev1.ConfigMap, bad func(string, ...any)) {
	file, ok := strings.CutPrefix(c.Args[1], "/recipes/")
	if !ok {
		bad("%s: train %s is not under /recipes", p.owner, c.Args[1])
		return
	}
	for _, cm := range recipeConfigMaps(p, configMaps, nil) {
		if _, ok := cm.Data[file]; ok {
			return
		}
	}
	bad("%s: train %s: no such key in the ConfigMap mounted at /recipes", p.owner, c.Args[1])
}

// recipeConfigMaps returns the ConfigMaps a pod mounts at /recipes; one
// that is not rendered is reported through bad (when not nil).
func recipeConfigMaps(p pod, configMaps map[string]*corev1.ConfigMap, bad func(string, ...any)) []*corev1.ConfigMap {
	var names []string
	for _, c := range p.spec.Containers {
		for _, m := range c.VolumeMounts {
			if m.MountPath == "/recipes" {
				names = append(names, m.Name)
			}
		}
	}
	var out []*corev1.ConfigMap
	for _, v := range p.spec.Volumes {
		if slices.Contains(names, v.Name) && v.ConfigMap != nil {
			if cm, ok := configMaps[v.ConfigMap.Name]; ok {
				out = append(out, cm)
			} else if bad != nil {
				bad("%s: mounts ConfigMap %s at /recipes, which is not rendered", p.owner, v.ConfigMap.Name)
			}
		}
	}
	return out
}

func ptrStr(p *int64) string {
	if p == nil {
		return "unset"
	}
	return strconv.FormatInt(*p, 10)
}

// volumeSources counts the set (non-nil) sources of a volume.
func volumeSources(vs corev1.VolumeSource) int {
	n := 0
	v := reflect.ValueOf(vs)
	for i := range v.NumField() {
		if !v.Field(i).IsNil() {
			n++
		}
	}
	return n
}
