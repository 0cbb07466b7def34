#!/usr/bin/env bash
# Installs every Debian 12 package veil's build, tests and demo need. Idempotent: when all are
# present it does nothing; otherwise it runs `apt-get update` once and installs the missing ones.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config make clang-format
  libsodium-dev libssl-dev libasio-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcli11-dev libtbb-dev libhiredis-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server python3 python3-celery python3-redis python3-numpy python3-pandas python3-sklearn
  python3-xgboost
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
