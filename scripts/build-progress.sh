#!/usr/bin/env bash
# Build cmd/recotem and say what is happening while it does: the first run
# on a machine downloads the modules and compiles a few hundred packages,
# which `go build` alone does in silence.
#
#   OUT=bin/recotem-demo TAGS=recotem_nocloud scripts/build-progress.sh
#
# Environment: OUT (default bin/recotem), TAGS (build tags, default none),
# GO (default go). The build is the same as `make build`'s (CGO_ENABLED=0,
# -trimpath) plus the tags.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
OUT=${OUT:-bin/recotem}
TAGS=${TAGS:-}
t0=$SECONDS

# Listing the dependencies downloads the modules they need (go prints one
# "go: downloading" line per module) and gives the package count.
if ! GOPROXY=off "$GO" list -tags "$TAGS" -deps ./cmd/recotem >/dev/null 2>&1; then
  echo "== first build here: fetching the Go modules it needs (once; later builds reuse them)"
fi
total=$("$GO" list -tags "$TAGS" -deps ./cmd/recotem | wc -l)
echo "== compiling $OUT${TAGS:+ (tags: $TAGS)}: $total packages, most cached after the first build"

tty=0
[ -t 1 ] && tty=1
set +e
CGO_ENABLED=0 "$GO" build -v -tags "$TAGS" -trimpath -o "$OUT" ./cmd/recotem 2>&1 |
  awk -v total="$total" -v tty="$tty" -v t0="$t0" '
    # -v prints each package as it is compiled; anything else (errors,
    # downloads) is passed through as is.
    /^[A-Za-z0-9_.\/~-]+$/ {
      n++
      if (tty) { printf "\r   %d/%d compiled  %-60.60s", n, total, $0; fflush(); next }
      if (n % 50 == 0) { printf "   %d/%d packages compiled\n", n, total; fflush() }
      next
    }
    { if (tty && n) printf "\n"; print; fflush() }
    END { if (tty && n) printf "\n" }'
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  echo "build failed (exit $rc)" >&2
  exit "$rc"
fi
echo "== built $OUT ($(($(stat -c %s "$OUT") / 1048576)) MiB) in $((SECONDS - t0)) s"
