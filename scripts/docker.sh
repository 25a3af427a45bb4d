#!/usr/bin/env bash
# Makes Docker usable for the emulator, idempotently: installs docker.io when missing (root + apt only),
# starts dockerd when no daemon answers, and provides Compose v2 (`docker compose`) as a CLI plugin
# built from its Go module (testcontainers' compose support expects v2 container names `service-1`).
# Prints the DOCKER_CONFIG dir that holds the compose plugin; callers do:
#   export DOCKER_CONFIG=$(scripts/docker.sh) DOCKER_BUILDKIT=0 COMPOSE_BAKE=false
# (no buildx plugin here: compose v2 builds with the classic builder only when BuildKit is off).
# Env: DOCKERD_TIMEOUT (s, default 60), COMPOSE_VERSION (default below), SKIP_COMPOSE=1 to skip compose.
set -euo pipefail
COMPOSE_VERSION="${COMPOSE_VERSION:-v2.40.3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
say() { echo "[sd-lambda] $*" >&2; }
die() { say "$*"; exit 1; }

# 1. The Docker CLI and engine.
if ! command -v docker >/dev/null || ! command -v dockerd >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing docker.io with apt-get"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >&2
  else
    die "docker is missing: install it (as root: apt-get install -y docker.io), then run this again"
  fi
fi

# 2. A daemon that answers.
if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || die "no Docker daemon answers and you are not root: start dockerd (sudo dockerd &) or join the docker group"
  say "no Docker daemon answers: starting dockerd (log: /var/log/dockerd.log)"
  setsid dockerd >/var/log/dockerd.log 2>&1 </dev/null &
  timeout="${DOCKERD_TIMEOUT:-60}"
  for ((i = 0; i < timeout * 2; i++)); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 \
    || die "dockerd did not answer on /var/run/docker.sock after ${timeout} s — last lines of /var/log/dockerd.log: $(tail -n 5 /var/log/dockerd.log | tr '\n' ' ')"
  say "dockerd is up ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
fi

# 3. Compose v2 as a CLI plugin in a project-local DOCKER_CONFIG (leaves ~/.docker alone).
cfg="$root/.cache/docker"
plugin="$cfg/cli-plugins/docker-compose"
if [ "${SKIP_COMPOSE:-}" != 1 ]; then
  if [ ! -x "$plugin" ] || [ "$("$plugin" version --short 2>/dev/null)" != "${COMPOSE_VERSION#v}" ]; then
    command -v go >/dev/null || die "go is missing: compose v2 is built from its Go module (apt-get install -y golang-go, or Go >= 1.24 from go.dev)"
    say "building docker compose $COMPOSE_VERSION from github.com/docker/compose/v2 (one-off, a few minutes)"
    mkdir -p "$cfg/cli-plugins"
    start=$SECONDS
    # `go install mod@version` refuses modules whose go.mod has exclude/replace directives (compose has
    # both), so fetch the module source through the proxy and build it as the main module.
    src="$(go mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    [ -n "$src" ] && [ -d "$src" ] || die "could not fetch github.com/docker/compose/v2@$COMPOSE_VERSION from the Go module proxy ($(go env GOPROXY))"
    work="$(mktemp -d)"
    cp -r "$src/." "$work" && chmod -R u+w "$work"
    (cd "$work" && CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
      -o "$plugin.tmp" ./cmd) >&2 || { rm -rf "$work"; die "building compose $COMPOSE_VERSION failed (see above)"; }
    rm -rf "$work" && mv "$plugin.tmp" "$plugin"
    say "built docker compose $COMPOSE_VERSION in $((SECONDS - start)) s"
  fi
  DOCKER_CONFIG="$cfg" docker compose version >/dev/null 2>&1 \
    || die "docker compose plugin at $plugin does not run (try: rm -rf $cfg and run again)"
fi
echo "$cfg"
