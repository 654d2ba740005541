#!/usr/bin/env bash
# Builds a Node.js 20 base image from Debian packages, for machines that reach Debian's
# archive but no image registry: debootstrap a minimal Debian bookworm, add the Node.js 20
# runtime this machine runs (Debian bookworm packages Node.js 18), import it into podman or
# docker as headroom-base:bookworm. Then:
#
#   podman build --build-arg NODE_IMAGE=headroom-base:bookworm -f deploy/container/Dockerfile -t headroom:0.1.0 .
#
# Usage: build-base-image.sh [podman|docker]   (as root; needs debootstrap)
set -euo pipefail

engine="${1:-podman}"
command -v "$engine" >/dev/null || { echo "build-base-image: '$engine' not found (apt-get install $engine)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "build-base-image: debootstrap not found (apt-get install debootstrap)" >&2; exit 1; }
node_bin="$(command -v node)" || { echo "build-base-image: node (20) not found on this machine" >&2; exit 1; }
major="$("$node_bin" -p 'process.versions.node.split(".")[0]')"
[[ "$major" -ge 20 ]] || { echo "build-base-image: node $major found, 20 or later needed" >&2; exit 1; }
npm_dir="$(dirname "$(readlink -f "$(command -v npm)")")/.."

root="$(mktemp -d -t headroom-rootfs-XXXXXX)"
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=ca-certificates bookworm "$root" http://deb.debian.org/debian
install -m 0755 "$node_bin" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$(readlink -f "$npm_dir")" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
# Trust what this machine trusts (a TLS-inspecting proxy in front of the npm registry included).
install -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | "$engine" import \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["node"]' - headroom-base:bookworm
echo "build-base-image: headroom-base:bookworm ($("$node_bin" --version), Debian bookworm minbase)"
