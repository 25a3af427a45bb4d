#!/usr/bin/env bash
# Picks the base image for runtime/Dockerfile and prints its name on stdout (messages go to stderr):
#   BASE_IMAGE=$(scripts/base-image.sh)
# 1. AWS's public.ecr.aws/lambda/nodejs:24 when it is present locally or can be pulled (short timeout);
# 2. otherwise the stand-in sd-lambda/base:nodejs24, built here with AWS's layout from a Debian bookworm
#    minbase root filesystem, Node 24 from .toolchain/node, the Node.js runtime interface client
#    (aws-lambda-ric, compiled on this host) and the Runtime Interface Emulator (compiled from its Go
#    module). Why and what differs: docs/decisions/stand-in-base-image.md.
# Every input is cached under .cache/base; the image carries a hash of its inputs as the label
# sd-lambda.inputs and is rebuilt only when that hash changes.
# Env: SD_LAMBDA_STANDIN=1 skips the pull and uses the stand-in; BASE_PULL_TIMEOUT (s, default 20);
#      DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
AWS_IMAGE="public.ecr.aws/lambda/nodejs:24"
STANDIN_IMAGE="sd-lambda/base:nodejs24"
SUITE="bookworm"
# Beyond minbase: AWS's image has a CA bundle (onnxruntime and HTTPS clients look for one).
EXTRA_PACKAGES="ca-certificates"
RIE_MODULE="github.com/aws/aws-lambda-runtime-interface-emulator"
RIE_VERSION="v0.0.0-20261030222936-bef5c4ba774d"
RIC_VERSION="4.0.2"
NPM_VERSION="11.19.1"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache/base"
say() { echo "[sd-lambda] $*" >&2; }
die() { say "$*"; exit 1; }
t0=$SECONDS

# --- 1. AWS's image, if we can have it -------------------------------------------------------------
if [ "${SD_LAMBDA_STANDIN:-}" != 1 ]; then
  if docker image inspect "$AWS_IMAGE" >/dev/null 2>&1; then
    say "base image: $AWS_IMAGE (already present locally)"
    echo "$AWS_IMAGE"; exit 0
  fi
  timeout_s="${BASE_PULL_TIMEOUT:-20}"
  if pull_out="$(timeout "$timeout_s" docker pull -q "$AWS_IMAGE" 2>&1)"; then
    say "base image: $AWS_IMAGE (pulled)"
    echo "$AWS_IMAGE"; exit 0
  fi
  say "cannot pull $AWS_IMAGE within ${timeout_s} s ($(echo "$pull_out" | tail -n 1 | cut -c1-160)):"
  say "using the stand-in $STANDIN_IMAGE (see docs/decisions/stand-in-base-image.md)"
else
  say "SD_LAMBDA_STANDIN=1: using the stand-in $STANDIN_IMAGE"
fi

# --- 2. the stand-in's inputs ------------------------------------------------------------------------
node_bin="$("$root/scripts/toolchain.sh")"
export PATH="$node_bin:$PATH"
node_version="$(node --version)"
case "$node_version" in v24.*) ;; *) die "Node 24 expected from scripts/toolchain.sh, got $node_version";; esac
mkdir -p "$cache"

# 2a. root filesystem tarball (debootstrap, ~30-45 s, once)
rootfs_tar="$cache/rootfs-$SUITE-minbase-$(echo "$EXTRA_PACKAGES" | sha256sum | cut -c1-8).tar"
if [ ! -s "$rootfs_tar" ]; then
  [ "$(id -u)" = 0 ] || die "building the stand-in's root filesystem needs root (debootstrap): run as root, or load $AWS_IMAGE with docker load"
  command -v debootstrap >/dev/null || {
    command -v apt-get >/dev/null && { say "installing debootstrap"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2; }
  }
  command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install -y debootstrap"
  say "creating a Debian $SUITE minbase root filesystem (+ $EXTRA_PACKAGES) with debootstrap from $MIRROR (once, ~45 s)"
  dir="$cache/rootfs.tmp"
  rm -rf "$dir"
  debootstrap --variant=minbase --include="${EXTRA_PACKAGES// /,}" "$SUITE" "$dir" "$MIRROR" >"$cache/debootstrap.log" 2>&1 \
    || die "debootstrap failed: see $cache/debootstrap.log (last line: $(tail -n 1 "$cache/debootstrap.log"))"
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/var/log/*.log
  tar --numeric-owner -C "$dir" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf "$dir"
  sha256sum "$rootfs_tar" | cut -c1-64 >"$rootfs_tar.sha256"
  # drop tarballs of earlier package sets
  find "$cache" -maxdepth 1 -name 'rootfs-*.tar*' ! -name "$(basename "$rootfs_tar")*" -delete
fi
[ -s "$rootfs_tar.sha256" ] || sha256sum "$rootfs_tar" | cut -c1-64 >"$rootfs_tar.sha256"
rootfs_sha="$(cat "$rootfs_tar.sha256")"

# 2b. the Runtime Interface Emulator (static Go binary, ~20 s, once per version)
rie="$cache/rie-$RIE_VERSION/aws-lambda-rie"
if [ ! -x "$rie" ]; then
  command -v go >/dev/null || die "go is missing: the RIE is built from its Go module (apt-get install -y golang-go or Go >= 1.22)"
  say "building aws-lambda-rie $RIE_VERSION from the Go module proxy (once, ~20 s)"
  mkdir -p "$(dirname "$rie")"
  (cd / && CGO_ENABLED=0 GOBIN="$(dirname "$rie")" GOFLAGS=-trimpath go install -ldflags "-s -w" \
    "$RIE_MODULE/cmd/aws-lambda-rie@$RIE_VERSION") >&2 || die "building aws-lambda-rie $RIE_VERSION failed (see above)"
fi

# 2c. the Node.js runtime interface client, compiled against this Node (~60 s, once per version)
ric="$cache/ric-$RIC_VERSION-node$node_version/node_modules/aws-lambda-ric"
if [ ! -f "$ric/rapid-client.node" ]; then
  for tool in autoconf automake libtool cmake make g++; do
    command -v "$tool" >/dev/null || { [ "$tool" = libtool ] && command -v libtoolize >/dev/null; } \
      || die "aws-lambda-ric builds from source and needs $tool: apt-get install -y autoconf automake libtool cmake make g++"
  done
  say "building aws-lambda-ric $RIC_VERSION with Node $node_version (once, ~60 s)"
  dir="$(dirname "$(dirname "$ric")")"
  rm -rf "$dir" && mkdir -p "$dir" && echo '{"private":true}' >"$dir/package.json"
  (cd "$dir" && npm_config_nodedir="$node_bin/.." npm install --omit=dev --no-audit --no-fund --loglevel=error \
    "aws-lambda-ric@$RIC_VERSION") >&2 || { rm -rf "$dir"; die "npm install aws-lambda-ric@$RIC_VERSION failed (see above)"; }
  [ -f "$ric/rapid-client.node" ] || die "aws-lambda-ric installed without rapid-client.node: its install script did not build (npm allowScripts?)"
fi

# 2d. npm, so that images built FROM the stand-in can `npm ci` as on AWS's image
npm_dir="$cache/npm-$NPM_VERSION/package"
if [ ! -f "$npm_dir/bin/npm-cli.js" ]; then
  say "fetching npm $NPM_VERSION for the stand-in's /var/lang"
  rm -rf "$(dirname "$npm_dir")" && mkdir -p "$(dirname "$npm_dir")"
  (cd "$(dirname "$npm_dir")" && npm pack --silent "npm@$NPM_VERSION" >/dev/null && tar -xzf npm-*.tgz && rm npm-*.tgz) \
    || die "could not fetch npm@$NPM_VERSION from the npm registry"
fi

# --- 3. build the stand-in when its inputs changed ---------------------------------------------------
hash="$(
  {
    echo "suite=$SUITE extra=$EXTRA_PACKAGES rootfs=$rootfs_sha rie=$RIE_VERSION ric=$RIC_VERSION npm=$NPM_VERSION node=$node_version"
    sha256sum "$node_bin/node" "$ric/rapid-client.node" "$ric/index.mjs" | cut -c1-64
    (cd "$root/harness/emulator/base" && find . -type f | LC_ALL=C sort | xargs sha256sum)
  } | sha256sum | cut -c1-16
)"
have="$(docker image inspect -f '{{ index .Config.Labels "sd-lambda.inputs" }}' "$STANDIN_IMAGE" 2>/dev/null || true)"
if [ "$have" = "$hash" ]; then
  say "base image: $STANDIN_IMAGE (stand-in, up to date, inputs $hash; $((SECONDS - t0)) s)"
  echo "$STANDIN_IMAGE"; exit 0
fi

rootfs_image="sd-lambda/rootfs:$SUITE-minbase-${rootfs_sha:0:12}"
if ! docker image inspect "$rootfs_image" >/dev/null 2>&1; then
  say "importing the root filesystem as $rootfs_image"
  docker import "$rootfs_tar" "$rootfs_image" >/dev/null
  # untag earlier root filesystems (layers still used by other images stay)
  docker images --format '{{.Repository}}:{{.Tag}}' sd-lambda/rootfs | grep -vxF "$rootfs_image" | xargs -r docker rmi >/dev/null 2>&1 || true
fi

ctx="$cache/context"
rm -rf "$ctx" && mkdir -p "$ctx/lang/bin" "$ctx/lang/lib/node_modules" "$ctx/runtime"
cp "$node_bin/node" "$ctx/lang/bin/node"
cp -r "$npm_dir" "$ctx/lang/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/lang/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/lang/bin/npx"
for f in index.mjs rapid-client.node package.json LICENSE NOTICE THIRD-PARTY-LICENSES; do
  [ -e "$ric/$f" ] && cp "$ric/$f" "$ctx/runtime/$f"
done
cp "$root/harness/emulator/base/bootstrap" "$ctx/runtime/bootstrap"
cp "$rie" "$ctx/aws-lambda-rie"
cp "$root/harness/emulator/base/lambda-entrypoint.sh" "$root/harness/emulator/base/Dockerfile" "$ctx/"

say "building the stand-in $STANDIN_IMAGE (inputs $hash)"
b0=$SECONDS
DOCKER_BUILDKIT=0 docker build --build-arg "ROOTFS=$rootfs_image" --label "sd-lambda.inputs=$hash" \
  --label "sd-lambda.stand-in-for=$AWS_IMAGE" -t "$STANDIN_IMAGE" "$ctx" >"$cache/build.log" 2>&1 \
  || die "docker build of $STANDIN_IMAGE failed (log: $cache/build.log): $(grep -v '^ *$' "$cache/build.log" | tail -n 3 | tr '\n' ' ')"
say "base image: $STANDIN_IMAGE (stand-in, built in $((SECONDS - b0)) s, total $((SECONDS - t0)) s)"
echo "$STANDIN_IMAGE"
