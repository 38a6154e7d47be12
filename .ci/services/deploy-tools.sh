# Sourced by .ci/run: the tools of the deployment tests (deploy/test, run by
# `make test-deploy`), installed if missing:
#   helm v4           go install from the Go module proxy into $(go env GOPATH)/bin
#   kustomize         the kustomize API library the tests build with
#                     (sigs.k8s.io/kustomize/api): the deploy/test module's
#                     dependencies are downloaded here
#   systemd-analyze   Debian package systemd
# and adds helm, kustomize and systemd to RECOTEM_TEST_REQUIRE, so a tool
# that could not be installed fails its tests instead of skipping them.
RECOTEM_HELM_VERSION=v4.3.2

recotem_deploy_tools() {
  local gobin rc=0
  gobin="$(go env GOPATH)/bin"
  if ! command -v helm >/dev/null 2>&1 && [ ! -x "$gobin/helm" ]; then
    echo "deploy-tools.sh: installing helm $RECOTEM_HELM_VERSION (go install)"
    GOFLAGS= go install "helm.sh/helm/v4/cmd/helm@$RECOTEM_HELM_VERSION" || { echo "deploy-tools.sh: ERROR: helm not installed" >&2; rc=1; }
  fi
  echo "deploy-tools.sh: downloading the deploy/test module (k8s.io/api, kustomize API)"
  (cd deploy/test && GOFLAGS= go mod download) || { echo "deploy-tools.sh: ERROR: deploy/test modules not downloaded" >&2; rc=1; }
  if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "deploy-tools.sh: installing systemd (for systemd-analyze)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null) ||
      { echo "deploy-tools.sh: ERROR: systemd-analyze not installed" >&2; rc=1; }
  fi
  return $rc
}

recotem_deploy_tools || true
export RECOTEM_TEST_REQUIRE="${RECOTEM_TEST_REQUIRE:+$RECOTEM_TEST_REQUIRE,}helm,kustomize,systemd"
unset -f recotem_deploy_tools
