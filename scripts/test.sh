#!/bin/sh
# Installs the project and its test tools into .venv, then runs the whole test suite.
# Browser tests need Chromium and the HTML validator needs Java: installed here when missing
# (Debian/Ubuntu packages, as root or through sudo). Extra arguments go to pytest.
set -eu
cd "$(dirname "$0")/.."
missing=""
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v java >/dev/null 2>&1 || missing="$missing default-jre-headless"
if [ -n "$missing" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installation des paquets système :$missing" >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2086
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
sh scripts/setup-env.sh test
PATH="$PWD/.venv/bin:$PATH"
export PATH
exec .venv/bin/python -m pytest -q "$@"
