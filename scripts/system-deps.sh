#!/usr/bin/env bash
# Installs the Debian packages the harness needs when their commands are missing (root + apt only),
# or says what to install. `scripts/system-deps.sh up` for the emulator; `scripts/system-deps.sh test`
# adds Chromium for the golden report's browser test.
#   docker, dockerd   docker.io         the emulator (scripts/docker.sh starts the daemon)
#   debootstrap       debootstrap       the stand-in base image's root filesystem
#   autoreconf, automake, libtoolize, cmake, g++   aws-lambda-ric builds from source
#   go                golang-go         compose v2 and the RIE build from their Go modules
#   chromium          chromium          test only
set -euo pipefail
declare -A pkg=([docker]=docker.io [dockerd]=docker.io [debootstrap]=debootstrap [autoreconf]=autoconf
  [automake]=automake [libtoolize]=libtool [cmake]=cmake [g++]=g++ [make]=make [go]=golang-go)
[ "${1:-up}" = test ] && pkg[chromium]=chromium
missing=()
for cmd in "${!pkg[@]}"; do
  command -v "$cmd" >/dev/null || missing+=("${pkg[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "[sd-lambda] missing: ${missing[*]} — install them (Debian: sudo apt-get install -y ${missing[*]}) and run make again" >&2
  exit 1
fi
echo "[sd-lambda] installing ${missing[*]} with apt-get" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
