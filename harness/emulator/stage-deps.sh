#!/usr/bin/env bash
# Stages the function's production npm dependencies for linux/x64 (glibc) in .cache/function/node_modules,
# which runtime/Dockerfile copies into the image. They are installed here, on the host, with Node 24 and
# the host's npm configuration (registry, proxy, CA), not inside `docker build`: build containers do not
# inherit that configuration, and the packages with native code ship prebuilt linux-x64 binaries, so the
# result is the same. Reinstalls only when package-lock.json changes.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/.cache/function"
say() { echo "[sd-lambda] $*" >&2; }
export PATH="$("$root/scripts/toolchain.sh"):$PATH"
export ONNXRUNTIME_NODE_INSTALL=skip  # its CUDA download is unreachable; the CPU binaries are in the package
want="$(cat "$root/package.json" "$root/package-lock.json" | sha256sum | cut -c1-64) $(node --version)"
if [ -d "$out/node_modules" ] && [ "$(cat "$out/.inputs" 2>/dev/null)" = "$want" ]; then
  say "production dependencies up to date in .cache/function/node_modules"
  exit 0
fi
say "installing production dependencies (linux/x64, glibc) into .cache/function/node_modules"
start=$SECONDS
rm -rf "$out" && mkdir -p "$out"
cp "$root/package.json" "$root/package-lock.json" "$out/"
[ -f "$root/.npmrc" ] && cp "$root/.npmrc" "$out/"
(cd "$out" && npm ci --omit=dev --os=linux --cpu=x64 --libc=glibc --no-audit --no-fund --loglevel=error) >&2
# onnxruntime-node ships every platform's binaries (~290 MB); the image needs linux/x64 only.
ort_bin="$out/node_modules/onnxruntime-node/bin"
if [ -d "$ort_bin" ]; then
  find "$ort_bin" -mindepth 2 -maxdepth 2 -type d ! -name linux -exec rm -rf {} +
  find "$ort_bin" -mindepth 3 -maxdepth 3 -type d -path '*/linux/*' ! -name x64 -exec rm -rf {} +
  ls "$ort_bin"/*/linux/x64/onnxruntime_binding.node >/dev/null \
    || { say "onnxruntime-node has no linux/x64 binding after pruning: $(find "$ort_bin" -maxdepth 3)"; exit 1; }
fi
chmod -R o+rX "$out/node_modules"
echo "$want" >"$out/.inputs"
say "production dependencies installed in $((SECONDS - start)) s ($(du -sh "$out/node_modules" | cut -f1))"
