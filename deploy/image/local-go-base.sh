#!/usr/bin/env bash
# Make a local Go builder image for the Containerfile's build stage from
# Debian packages and the Go toolchain already installed on this host, for
# machines that reach a Debian mirror and the Go module proxy but no
# container registry:
#
#   deploy/image/local-go-base.sh [IMAGE]      # default localhost/recotem-go-base:<go version>
#   make image GO_IMAGE=localhost/recotem-go-base:<go version>
#
# The image is a debootstrap'd Debian (minbase + ca-certificates) with
# $(go env GOROOT) copied to /usr/local/go, imported with `podman import`.
# It stands in for the official golang image: same Debian base, same
# toolchain layout and PATH. Needs root, debootstrap and podman. Where no
# OCI runtime can start containers, build with chroot isolation:
#   make image GO_IMAGE=... IMAGE_BUILD_FLAGS=--isolation=chroot
# Environment: SUITE (default bookworm), MIRROR (default: debootstrap's).
set -euo pipefail
command -v debootstrap >/dev/null || { echo "local-go-base: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
command -v podman >/dev/null || { echo "local-go-base: needs podman (apt-get install podman)" >&2; exit 1; }
goroot=$(go env GOROOT)
gover=$(go env GOVERSION)
image=${1:-localhost/recotem-go-base:${gover#go}}
suite=${SUITE:-bookworm}
work=$(mktemp -d /tmp/recotem-go-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "== debootstrap $suite (minbase + ca-certificates)"
debootstrap --variant=minbase --include=ca-certificates "$suite" "$work/root" ${MIRROR:+"$MIRROR"} >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log" >&2; exit 1; }
echo "== adding $gover from $goroot"
mkdir -p "$work/root/usr/local"
cp -a "$goroot" "$work/root/usr/local/go"
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
# The build stage fetches modules through whatever the host trusts (a
# TLS-inspecting proxy's CA included): the host's bundle goes in beside
# Debian's, as SSL_CERT_FILE, so the final stage still copies Debian's own
# /etc/ssl/certs/ca-certificates.crt.
cp "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$work/root/usr/local/share/build-host-ca.crt"
echo "== podman import → $image"
tar -C "$work/root" -c . | podman import \
  --change 'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV GOPATH=/go' --change 'ENV SSL_CERT_FILE=/usr/local/share/build-host-ca.crt' --change 'ENV GOTOOLCHAIN=local' --change 'WORKDIR /go' \
  - "$image" >/dev/null
echo "$image"
