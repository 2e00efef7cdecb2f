#!/usr/bin/env bash
# Validates docker-compose.yml without a Docker engine: `config -q` parses the file, interpolates
# variables and checks it against the Compose schema, then exits non-zero on any error.
#
# Validators, in order:
#   1. docker-compose (v1, Debian's package; 1.29.x understands the Compose Specification used here:
#      no `version:`, profiles, depends_on conditions incl. service_completed_successfully).
#      Installed with apt-get if missing (root, or sudo).
#   2. `docker compose` (v2 plugin), only if it is already installed: a second, newer opinion.
# Every profile is enabled so that profiled services (demo) are checked too.
#
# Usage: scripts/validate-compose.sh [compose-file]   (default docker-compose.yml; relative to the repo root)
set -euo pipefail

cd "$(dirname "$0")/.."
file="${1:-docker-compose.yml}"
[[ -f "$file" ]] || { echo "validate-compose: $file not found" >&2; exit 2; }

profiles=(--profile demo --profile monitoring --profile api)

if ! command -v docker-compose >/dev/null 2>&1; then
  echo "validate-compose: installing Debian's docker-compose" >&2
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "validate-compose: docker-compose missing and not root (no sudo)" >&2; exit 2; }
    sudo=(sudo -n)
  fi
  log=$(mktemp)
  # --no-install-recommends: the package recommends docker.io (an engine), which the check doesn't need.
  if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq update &&
         "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends docker-compose; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "validate-compose: could not install docker-compose" >&2
    rm -f "$log"
    exit 2
  fi
  rm -f "$log"
fi

status=0

echo "validate-compose: $(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /') -f $file config -q"
if docker-compose -f "$file" "${profiles[@]}" config -q; then
  echo "validate-compose: ok (docker-compose v1)"
else
  echo "validate-compose: FAILED (docker-compose v1)" >&2
  status=1
fi

if docker compose version >/dev/null 2>&1; then
  echo "validate-compose: $(docker compose version --short 2>/dev/null | sed 's/^/docker compose /') -f $file config -q"
  if docker compose -f "$file" "${profiles[@]}" config -q; then
    echo "validate-compose: ok (docker compose v2)"
  else
    echo "validate-compose: FAILED (docker compose v2)" >&2
    status=1
  fi
else
  echo "validate-compose: docker compose (v2) not installed; skipped"
fi

exit "$status"
