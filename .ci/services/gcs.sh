# Sourced by .ci/run: installs fake-gcs-server (a GCS JSON/XML API emulator)
# if missing, starts it on 127.0.0.1 over plain HTTP with an in-memory
# backend, creates a bucket and exports
#   RECOTEM_TEST_GCS_ENDPOINT (host:port, the form STORAGE_EMULATOR_HOST takes),
#   RECOTEM_TEST_GCS_BUCKET, RECOTEM_TEST_GCS_DIR (log and pid file)
# for the object-store tests (tools/blob), which set STORAGE_EMULATOR_HOST
# themselves. Failures are loud but do not stop the run: the tests that need
# it then fail naming the missing variable where RECOTEM_TEST_REQUIRE lists
# gcs (.ci/run does), and skip elsewhere.
# Stop it with: kill "$(cat "$RECOTEM_TEST_GCS_DIR/pid")"

recotem_gcs_start() {
  local bin port dir i
  bin="$(go env GOPATH)/bin/fake-gcs-server"
  if [ ! -x "$bin" ]; then
    echo "gcs.sh: installing fake-gcs-server"
    GOFLAGS= go install github.com/fsouza/fake-gcs-server@v1.56.1 || return 1
  fi
  port=57170
  while (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; do port=$((port + 1)); done
  dir=$(mktemp -d /tmp/recotem-gcs.XXXXXX) || return 1
  "$bin" -scheme http -host 127.0.0.1 -port "$port" -backend memory \
    -public-host "127.0.0.1:$port" -external-url "http://127.0.0.1:$port" \
    -log-level warn >"$dir/server.log" 2>&1 &
  echo $! >"$dir/pid"
  for i in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
    sleep 0.1
  done
  curl -sf -X POST -H 'Content-Type: application/json' -d '{"name":"recotem-test"}' \
    "http://127.0.0.1:$port/storage/v1/b?project=recotem-test" >/dev/null ||
    { cat "$dir/server.log" >&2; kill "$(cat "$dir/pid")" 2>/dev/null; return 1; }
  export RECOTEM_TEST_GCS_ENDPOINT="127.0.0.1:$port"
  export RECOTEM_TEST_GCS_BUCKET=recotem-test
  export RECOTEM_TEST_GCS_DIR="$dir"
  echo "gcs.sh: fake-gcs-server on 127.0.0.1:$port (pid $(cat "$dir/pid"))"
}

if ! recotem_gcs_start; then
  echo "gcs.sh: ERROR: fake-gcs-server did not start: the GCS object-store tests FAIL where RECOTEM_TEST_REQUIRE lists gcs (.ci/run does) and skip elsewhere" >&2
fi
unset -f recotem_gcs_start
