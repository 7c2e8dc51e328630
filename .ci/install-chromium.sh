#!/usr/bin/env bash
# Installs Debian's Chromium for the browser end-to-end test (driven by playwright-core, which
# ships no browser of its own). Headless Chromium gives WebGPU through SwiftShader without a GPU.
# Idempotent; needs root.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium already installed ($(dpkg-query -W -f='${Version}' chromium 2>/dev/null || echo unknown))"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "installed chromium $(dpkg-query -W -f='${Version}' chromium)"
