#!/usr/bin/env bash
# Time a newcomer's first `make demo`: empty Go module and build caches (in a
# temp dir), a fresh demo state, then `make demo` until the server logs
# serve_listening; the server is then stopped. Prints the wall time of each
# phase (build, train, serve ready) and the binary size.
#
#   scripts/cold-demo.sh [make arguments...]     e.g. scripts/cold-demo.sh DEMO_TAGS=
#
# Environment: COLD_DIR (default: a new temp dir; removed afterwards unless
# KEEP=1), RECOTEM_PORT (default: a free port from 18080).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${COLD_DIR:-$(mktemp -d /tmp/recotem-cold.XXXXXX)}
mkdir -p "$dir/mod" "$dir/cache"
port=${RECOTEM_PORT:-18080}
while (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; do port=$((port + 1)); done
rm -rf var/demo var/artifacts/movielens*
log="$dir/demo.log"
: >"$log"
start=$(date +%s.%N)
# -modcacherw: the module cache can be removed afterwards without chmod.
GOMODCACHE="$dir/mod" GOCACHE="$dir/cache" GOFLAGS="-modcacherw ${GOFLAGS:-}" RECOTEM_PORT="$port" \
  setsid make demo "$@" >"$log" 2>&1 &
pid=$!
mark() { awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN{printf "%.1f", n-s}'; }
built="" trained="" ready=""
while kill -0 "$pid" 2>/dev/null; do
  [ -z "$built" ] && grep -q '^== training' "$log" && built=$(mark)
  [ -z "$trained" ] && grep -q '"event":"train_done"' "$log" && trained=$(mark)
  if grep -q 'serve_listening' "$log"; then ready=$(mark); break; fi
  sleep 0.5
done
kill -TERM -- -"$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
if [ -z "$ready" ]; then
  echo "cold-demo: make demo ended before the server was ready; log: $log" >&2
  tail -20 "$log" >&2
  exit 1
fi
mods=$(du -sh "$dir/mod" | cut -f1)
cache=$(du -sh "$dir/cache" | cut -f1)
bin=$(ls -t bin/recotem* | head -1) # the binary make demo built (bin/recotem-demo, or bin/recotem before it had its own)
printf 'cold make demo %s: build %ss, +train → %ss, serve ready %ss; module cache %s, build cache %s, %s %s bytes\n' \
  "$*" "$built" "$trained" "$ready" "$mods" "$cache" "$bin" "$(stat -c %s "$bin")"
if [ "${KEEP:-0}" != 1 ] && [ -z "${COLD_DIR:-}" ]; then rm -rf "$dir"; else echo "kept $dir"; fi
