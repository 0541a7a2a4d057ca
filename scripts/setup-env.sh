#!/bin/sh
# Creates (or updates) the project's virtual environment in .venv with the pinned versions of
# constraints.txt. Usage: sh scripts/setup-env.sh [EXTRA]   (EXTRA: "test" for the test tools)
# Used by scripts/serve-demo.sh, scripts/test.sh and .ci/run: one way to install.
set -eu
cd "$(dirname "$0")/.."
extra="${1:-}"
python="${PYTHON:-python3}"

say() { printf '%s\n' "$*" >&2; }

if ! command -v "$python" >/dev/null 2>&1; then
  say "Python 3.11 ou plus récent est nécessaire : installez le paquet python3 (sudo apt-get install python3)."
  exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  say "Python 3.11 ou plus récent est nécessaire (trouvé : $("$python" --version 2>&1))."
  exit 1
fi

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else return 1; fi
}

# Debian and Ubuntu ship venv/ensurepip separately (python3-venv); PEP 668 refuses a
# system-wide pip install, so the project always installs into its own environment.
if [ ! -x .venv/bin/python ]; then
  if ! "$python" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    say "Installation du module venv de Python (paquets python3-venv, python$version-venv)…"
    if command -v apt-get >/dev/null 2>&1 && as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
      && { as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$version-venv" \
           || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; }; then
      "$python" -m venv .venv
    else
      say "Impossible de créer l'environnement virtuel : installez le paquet python3-venv (sudo apt-get install python3-venv) puis relancez."
      exit 1
    fi
  fi
fi

spec="."
[ -n "$extra" ] && spec=".[$extra]"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade "pip>=24" >/dev/null
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e "$spec"
# The project's own modules compiled now: the git hooks start Python on every push, and a
# server's hooks may run as a user who cannot write __pycache__ here (each push would then
# compile 40 modules again, about 0.1 s).
.venv/bin/python -m compileall -q -j 0 kb indexer webapp publishing alerts >/dev/null
