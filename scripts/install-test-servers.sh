#!/usr/bin/env bash
# Make sure the servers the integration and e2e tests start are installed (Debian packages).
# Missing binaries: installed with apt-get when running as root, otherwise listed and exit 1.
set -euo pipefail

# Debian packages put some binaries in sbin, which a non-root PATH may lack.
export PATH="${PATH}:/usr/sbin:/usr/local/sbin:/sbin"

# binary → Debian package
declare -A PACKAGE_OF=(
  [nats-server]=nats-server
  [prometheus]=prometheus
  [promtool]=prometheus
  [victoria-metrics]=victoria-metrics
  [influxd]=influxdb
  [amtool]=prometheus-alertmanager
  [openssl]=openssl
  [systemd-analyze]=systemd
  [tmux]=tmux
)
# openssl makes the certificates of the TLS connection test; systemd-analyze checks the unit;
# tmux is the terminal of the live summary test.
BINARIES=(nats-server prometheus promtool victoria-metrics influxd amtool openssl systemd-analyze tmux)

missing_packages=()
for bin in "${BINARIES[@]}"; do
  if ! command -v "$bin" >/dev/null 2>&1; then
    pkg="${PACKAGE_OF[$bin]}"
    echo "install-test-servers: '$bin' not found (Debian package '$pkg')" >&2
    if [[ ! " ${missing_packages[*]-} " == *" $pkg "* ]]; then
      missing_packages+=("$pkg")
    fi
  fi
done

if [[ ${#missing_packages[@]} -eq 0 ]]; then
  echo "install-test-servers: all test servers present"
  exit 0
fi

if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  # The tests start their own servers on random ports. Keep the packages' services from
  # starting (policy-rc.d 101 = "action forbidden"), unless a policy is already in place.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created_policy=1
  fi
  cleanup() { if [[ "$created_policy" -eq 1 ]]; then rm -f "$policy"; fi; }
  trap cleanup EXIT
  echo "install-test-servers: installing ${missing_packages[*]}"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing_packages[@]}"
  # Stop any service a package started anyway (systemd hosts ignore policy-rc.d).
  if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    for unit in nats-server prometheus victoria-metrics influxdb prometheus-alertmanager; do
      systemctl stop "$unit" >/dev/null 2>&1 || true
    done
  fi
  for bin in "${BINARIES[@]}"; do
    command -v "$bin" >/dev/null 2>&1 || { echo "install-test-servers: '$bin' still missing after install" >&2; exit 1; }
  done
  exit 0
fi

echo "install-test-servers: missing test servers. Install them with:" >&2
echo "  sudo apt-get install -y --no-install-recommends ${missing_packages[*]}" >&2
exit 1
