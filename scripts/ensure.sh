#!/usr/bin/env bash
# Installs whatever koine needs and is missing: pnpm, the workspace's
# dependencies, nats-server. Safe to run again; quiet when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v pnpm >/dev/null 2>&1; then
  echo "koine: installing pnpm 10" >&2
  npm install -g pnpm@10.34.9 >&2 || sudo_if_needed npm install -g pnpm@10.34.9 >&2
fi

if [ ! -f node_modules/.modules.yaml ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  echo "koine: installing dependencies" >&2
  pnpm install --frozen-lockfile >&2
fi

if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
  echo "koine: installing nats-server (apt)" >&2
  sudo_if_needed apt-get update -qq >&2
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >&2
fi
