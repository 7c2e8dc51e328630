#!/usr/bin/env bash
# Installs Mesa's lavapipe (a CPU Vulkan driver) from Debian bookworm-backports, the first Mesa
# (25.x) that Dawn accepts, so WebGPU runs on machines without a GPU. Idempotent; needs root.
set -euo pipefail

installed_version() {
  dpkg-query -W -f='${Status} ${Version}\n' mesa-vulkan-drivers 2>/dev/null | awk '$3 == "installed" { print $4 }'
}

v="$(installed_version || true)"
if [ -n "$v" ] && dpkg --compare-versions "$v" ge 25 && compgen -G "/usr/share/vulkan/icd.d/lvp_icd*.json" >/dev/null; then
  echo "lavapipe already installed (mesa-vulkan-drivers $v)"
  exit 0
fi

src=/etc/apt/sources.list.d/debian.sources
uris="$(awk -F': ' '/^URIs:/ && $2 ~ /debian\/?$/ { print $2; exit }' "$src" 2>/dev/null || true)"
key="$(awk -F': ' '/^Signed-By:/ { print $2; exit }' "$src" 2>/dev/null || true)"
uris="${uris:-http://deb.debian.org/debian}"
key="${key:-/usr/share/keyrings/debian-archive-keyring.gpg}"
cat > /etc/apt/sources.list.d/bookworm-backports.sources <<SRC
Types: deb
URIs: $uris
Suites: bookworm-backports
Components: main
Signed-By: $key
SRC

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
echo "installed mesa-vulkan-drivers $(installed_version)"
