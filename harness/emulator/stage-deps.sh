#!/usr/bin/env bash
# Usage: stage-deps.sh [x64|arm64]   (default x64)
# Stages the function's production npm dependencies for linux/<cpu> (glibc) in .cache/function/node_modules
# (x64) or .cache/function-arm64/node_modules (arm64), which runtime/Dockerfile copies (ARG DEPS_DIR).
# They are installed here, on the host, with Node 24 and the host's npm configuration (registry, proxy, CA),
# not inside `docker build`: build containers do not inherit that configuration, and the packages with
# native code (onnxruntime-node, sharp) ship prebuilt linux-x64 and linux-arm64 binaries, so the result is
# the same, and arm64 stages on an x86-64 host. Reinstalls only when package-lock.json changes.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cpu="${1:-x64}"
case "$cpu" in
  x64) out="$root/.cache/function" ;;
  arm64) out="$root/.cache/function-arm64" ;;
  *) echo "[sd-lambda] stage-deps.sh: cpu must be x64 or arm64, got $cpu" >&2; exit 2 ;;
esac
rel="${out#"$root"/}"
say() { echo "[sd-lambda] $*" >&2; }
export PATH="$("$root/scripts/toolchain.sh"):$PATH"
export ONNXRUNTIME_NODE_INSTALL=skip  # its CUDA download is unreachable; the CPU binaries are in the package
want="$(cat "$root/package.json" "$root/package-lock.json" | sha256sum | cut -c1-64) $(node --version) $cpu"
if [ -d "$out/node_modules" ] && [ "$(cat "$out/.inputs" 2>/dev/null)" = "$want" ]; then
  say "production dependencies (linux/$cpu) up to date in $rel/node_modules"
  exit 0
fi
say "installing production dependencies (linux/$cpu, glibc) into $rel/node_modules"
start=$SECONDS
rm -rf "$out" && mkdir -p "$out"
cp "$root/package.json" "$root/package-lock.json" "$out/"
[ -f "$root/.npmrc" ] && cp "$root/.npmrc" "$out/"
(cd "$out" && npm ci --omit=dev --os=linux --cpu="$cpu" --libc=glibc --no-audit --no-fund --loglevel=error) >&2
# onnxruntime-node ships every platform's binaries (~290 MB); the image needs linux/<cpu> only.
ort_bin="$out/node_modules/onnxruntime-node/bin"
if [ -d "$ort_bin" ]; then
  find "$ort_bin" -mindepth 2 -maxdepth 2 -type d ! -name linux -exec rm -rf {} +
  find "$ort_bin" -mindepth 3 -maxdepth 3 -type d -path '*/linux/*' ! -name "$cpu" -exec rm -rf {} +
  ls "$ort_bin"/*/linux/"$cpu"/onnxruntime_binding.node >/dev/null \
    || { say "onnxruntime-node has no linux/$cpu binding after pruning: $(find "$ort_bin" -maxdepth 3)"; exit 1; }
fi
chmod -R o+rX "$out/node_modules"
echo "$want" >"$out/.inputs"
say "production dependencies (linux/$cpu) installed in $((SECONDS - start)) s ($(du -sh "$out/node_modules" | cut -f1))"
