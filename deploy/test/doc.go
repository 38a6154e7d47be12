// Package deploytest checks the deployment files under deploy/ without a
// cluster: the Helm chart (helm lint, helm template for each values file),
// the kustomize base and overlays (built with the kustomize API), and the
// systemd units (systemd-analyze verify). Every rendered Kubernetes object
// is decoded strictly into its k8s.io/api type (or the Prometheus
// Operator's, for ServiceMonitor): an unknown or duplicated field fails the
// test, and so do the deployment rules the docs promise (non-root,
// read-only root file system, no capabilities, keys from Secrets, drain
// grace period, Forbid CronJobs, probes on the health endpoint, memory from
// the runbook's formula, recipes that recotem itself parses).
//
// It is a module of its own so that the Kubernetes, Helm-side and
// kustomize dependencies stay out of recotem's go.mod. Run it with
// `make test-deploy` (or `cd deploy/test && go test ./...`).
//
// Tools: helm (v4) and systemd-analyze are looked up on PATH, then in
// $(go env GOPATH)/bin. A missing tool skips its tests with a message,
// unless RECOTEM_TEST_REQUIRE (a comma list: helm, kustomize, systemd, or
// all) names it, in which case the test fails. kustomize is a library here
// and never missing.
package deploytest
