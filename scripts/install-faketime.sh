#!/usr/bin/env bash
# Installs Debian's faketime package (libfaketime) when it is missing, as scripts/services.sh starts a
# stopped service: the faketime test pass in .ci/run and the chaos `clock-skew` scenario need it. Where
# apt-get cannot run (not root, no Debian), it says what to install and exits 1.
set -uo pipefail
lib=${CHAOS_LIBFAKETIME:-/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1}
command -v faketime >/dev/null && [ -e "$lib" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian's faketime package" >&2
  apt-get install -y -q faketime >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q faketime >/dev/null 2>&1; }
fi
command -v faketime >/dev/null && [ -e "$lib" ] && exit 0
echo "libfaketime is missing: install Debian's faketime package (apt-get install faketime) or set CHAOS_LIBFAKETIME" >&2
exit 1
