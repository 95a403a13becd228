#!/usr/bin/env bash
# Installs everything TraceReport needs on a fresh Debian machine of this kind (run as root), then builds.
# Safe to run any number of times: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

# Debian packages: a toolchain to build better-sqlite3 (no prebuilt binary can be fetched here),
# Chromium for PDF output, Noto CJK fonts for Chinese text and DejaVu for chart labels, poppler-utils (pdftotext)
# and python3-pymodbus with python3-serial-asyncio (its server imports serial even for TCP) for the tests.
APT_PACKAGES=(g++ make python3 chromium fonts-noto-cjk fonts-dejavu-core poppler-utils python3-pymodbus python3-serial-asyncio)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Node packages, exactly as locked; skipped when node_modules already matches package-lock.json.
stamp=node_modules/.tracereport-lock.sha256
want=$( (sha256sum package-lock.json; node --version) | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing Node packages (npm ci)"
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi

say "building (tsc, vite)"
npm run --silent build
