#!/usr/bin/env bash
# Test a built recotem image without starting a container: export its root
# file system and run /recotem inside it with the container's constraints
# (root file system read-only, uid/gid 65532, a tmpfs /tmp, a writable /data)
# using unshare: a private mount namespace, then chroot into the exported
# root. Checks the image's shape (labels, user, no shell, CA bundle), then
# keygen, validate, train of examples/quickstart, inspect, serve on
# 127.0.0.1 and a Unix socket, GET /health, one /predict and one
# :recommend, /v1/health over the socket, and a SIGTERM drain that exits 0.
#
#   deploy/image-test.sh [IMAGE]        (default recotem:<version>; needs root, podman, unshare, curl)
#
# Environment: IMAGE_TOOL (podman), KEEP=1 keeps the work dir.
set -euo pipefail
cd "$(dirname "$0")/.."
tool=${IMAGE_TOOL:-podman}
version=$(sed -n 's/^var Version = "\(.*\)"/\1/p' trainer/train.go 2>/dev/null || true)
version=${version:-dev}
image=${1:-${IMAGE:-recotem:$version}}
work=$(mktemp -d /tmp/recotem-image-test.XXXXXX)
root="$work/root"
data="$work/data"
serve_pid=""
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }

step "export $image"
mkdir -p "$root" "$data"
cid=$("$tool" create "$image")
"$tool" export "$cid" | tar -x -C "$root"
"$tool" rm "$cid" >/dev/null
(cd "$root" && find . -mindepth 1 -maxdepth 4 | sort | sed 's/^/   /')
"$tool" image inspect "$image" --format '   user={{.Config.User}} workdir={{.Config.WorkingDir}} entrypoint={{.Config.Entrypoint}} cmd={{.Config.Cmd}} size={{.Size}}'
"$tool" image inspect "$image" --format '{{range $k, $v := .Labels}}   {{$k}}={{$v}}{{"\n"}}{{end}}' | grep opencontainers
[ -x "$root/recotem" ] || fail "no /recotem"
[ -s "$root/etc/ssl/certs/ca-certificates.crt" ] || fail "no CA bundle"
[ ! -e "$root/bin/sh" ] && [ ! -e "$root/usr/bin/sh" ] || fail "the image has a shell"
[ "$("$tool" image inspect "$image" --format '{{.Config.User}}')" = "65532:65532" ] || fail "image user is not 65532:65532"
for l in version revision source; do
  "$tool" image inspect "$image" --format "{{index .Labels \"org.opencontainers.image.$l\"}}" | grep -q . || fail "label org.opencontainers.image.$l missing"
done
echo "   ok: /recotem, CA bundle, no shell, user 65532:65532, OCI labels"

# in_image ARGS...: run /recotem ARGS inside the exported root: read-only
# root, tmpfs /tmp, $data bound at /data (the working directory), uid/gid
# 65532. The environment is only what `env -i` passes in IMG_ENV. Every
# process of the chain execs the next, so a background job's $! is the
# recotem process itself.
image_cmd() {
  cmd=(env -i PATH="$PATH" "${IMG_ENV[@]}" unshare --mount sh -c '
    root=$1 data=$2; shift 2
    mount --bind "$root" "$root" && mount -o remount,bind,ro "$root" &&
    mount -t tmpfs -o size=64m tmpfs "$root/tmp" &&
    mount --bind "$data" "$root/data" || exit 125
    exec unshare --root="$root" --wd=/data --setuid 65532 --setgid 65532 /recotem "$@"' \
    sh "$root" "$data" "$@")
}
in_image() { image_cmd "$@"; "${cmd[@]}"; }

IMG_ENV=()
mkdir -p "$data/examples"
cp -r examples/quickstart "$data/examples/"
chown -R 65532:65532 "$data"

step "keygen inside the image"
sign=$(in_image keygen --type signing --kid image-test | sed -n 's/^ *env_entry=RECOTEM_SIGNING_KEYS=//p')
api_out=$(in_image keygen --type api --kid image-client)
api_plain=$(printf '%s\n' "$api_out" | sed -n 's/^ *plaintext=//p')
api_entry=$(printf '%s\n' "$api_out" | sed -n 's/^ *env_entry=RECOTEM_API_KEYS=//p')
[ -n "$sign" ] && [ -n "$api_plain" ] && [ -n "$api_entry" ] || fail "keygen printed no keys"
echo "   signing kid image-test, api kid image-client"

IMG_ENV=(RECOTEM_SIGNING_KEYS="$sign" RECOTEM_LOG_FORMAT=json)
step "validate + train examples/quickstart/recipe.yaml"
in_image validate examples/quickstart/recipe.yaml
t0=$SECONDS
in_image train examples/quickstart/recipe.yaml -q 2>"$work/train.log" || { tail -5 "$work/train.log"; fail "train"; }
grep '"event":"train_done"' "$work/train.log" | sed 's/^/   /'
echo "   trained in $((SECONDS - t0)) s"
ls -l "$data/var/artifacts" | sed 's/^/   /'

step "read-only root: an artifact outside /data cannot be written"
sed 's|^  path: var/artifacts/quickstart.recotem|  path: /etc/quickstart.recotem|' examples/quickstart/recipe.yaml >"$data/readonly.yaml"
chown 65532:65532 "$data/readonly.yaml"
rc=0
in_image train readonly.yaml -q 2>"$work/ro.log" || rc=$?
sed -n 's/.*"event":"train_error".*"error":"\(.*\)","code".*/   train_error: \1/p' "$work/ro.log"
[ "$rc" != 0 ] || fail "train wrote /etc/quickstart.recotem into the image's root"
echo "   exit $rc"
rm -f "$data/readonly.yaml"

step "inspect"
in_image inspect var/artifacts/quickstart.recotem | head -12 | sed 's/^/   /'

step "serve on 127.0.0.1"
port=18480
while (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; do port=$((port + 1)); done
IMG_ENV=(RECOTEM_SIGNING_KEYS="$sign" RECOTEM_API_KEYS="$api_entry" RECOTEM_LOG_FORMAT=json
  RECOTEM_HOST=127.0.0.1 RECOTEM_DRAIN_SECONDS=3)
image_cmd serve --recipes examples/quickstart --port "$port" --uds /data/recotem.sock
"${cmd[@]}" 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 1 100); do
  grep -q serve_listening "$work/serve.log" && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.log"; fail "serve exited"; }
  sleep 0.1
done
grep -q serve_listening "$work/serve.log" || fail "serve did not listen"
grep -h '"event":"\(recipe_loaded\|serve_listening\)"' "$work/serve.log" | sed 's/^/   /'
base="http://127.0.0.1:$port"
health=$(curl -s -w ' HTTP %{http_code}' "$base/health")
echo "   GET /health → $health"
[ "$health" = '{"status":"ok","total":1,"loaded":1} HTTP 200' ] || fail "/health: $health"
user=$(awk -F, 'NR==2{print $1}' examples/quickstart/interactions.csv)
pred=$(curl -s -w ' HTTP %{http_code}' -X POST "$base/predict/quickstart" -H "X-API-Key: $api_plain" \
  -H 'Content-Type: application/json' -d "{\"user_id\":\"$user\",\"cutoff\":3}")
echo "   POST /predict/quickstart {\"user_id\":\"$user\",\"cutoff\":3} → $pred"
case "$pred" in *'"item_id"'*' HTTP 200') ;; *) fail "predict: $pred" ;; esac
rec=$(curl -s -w ' HTTP %{http_code}' -X POST "$base/v1/recipes/quickstart:recommend" -H "X-API-Key: $api_plain" \
  -H 'Content-Type: application/json' -d "{\"user_id\":\"$user\",\"limit\":3}")
echo "   POST /v1/recipes/quickstart:recommend → $rec"
case "$rec" in *' HTTP 200') ;; *) fail "recommend: $rec" ;; esac
uds=$(curl -s -w ' HTTP %{http_code}' --unix-socket "$data/recotem.sock" http://localhost/v1/health)
echo "   GET /v1/health over the Unix socket (--uds /data/recotem.sock) → $uds"
case "$uds" in *' HTTP 200') ;; *) fail "health over the socket: $uds" ;; esac
noauth=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/predict/quickstart" -d '{}')
echo "   POST /predict/quickstart without X-API-Key → HTTP $noauth"
[ "$noauth" = 401 ] || fail "unauthenticated predict: HTTP $noauth"

step "SIGTERM drains and exits 0"
kill -TERM "$serve_pid"
rc=0
wait "$serve_pid" || rc=$?
serve_pid=""
grep -h '"event":"serve_shutdown"' "$work/serve.log" | sed 's/^/   /'
[ "$rc" = 0 ] || fail "serve exited $rc after SIGTERM"
echo "   exit $rc"
printf '\nimage test passed: %s\n' "$image"
