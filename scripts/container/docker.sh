#!/usr/bin/env bash
# The docker CLI for wrangler on a machine with Debian's docker.io engine and no buildx (WRANGLER_DOCKER_BIN):
# - `build`: wrangler passes buildx-only flags (`--load`, `--provenance=false`); the classic builder builds into the
#   local engine anyway, so they are dropped;
# - `pull IMAGE`: an image already present locally (made by setup-docker.sh, Docker Hub being unreachable) is not
#   pulled again; anything else goes to the engine as usual.
# Debian's client (/usr/bin/docker) is preferred: it matches the Debian engine's API version.
set -euo pipefail
if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER="$(command -v docker)"; fi
case "${1:-}" in
  build)
    shift
    args=()
    while [ $# -gt 0 ]; do
      case "$1" in
        --load | --provenance=*) ;;
        --provenance) shift ;;
        *) args+=("$1") ;;
      esac
      shift
    done
    DOCKER_BUILDKIT=0 exec "$DOCKER" build "${args[@]}"
    ;;
  pull)
    for a in "${@:2}"; do
      case "$a" in -*) ;; linux/*) ;; *) image="$a" ;; esac
    done
    if [ -n "${image:-}" ] && "$DOCKER" image inspect "$image" >/dev/null 2>&1; then
      echo "[docker.sh] $image is present locally; not pulling" >&2
      exit 0
    fi
    exec "$DOCKER" "$@"
    ;;
  *) exec "$DOCKER" "$@" ;;
esac
