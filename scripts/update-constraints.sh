#!/bin/sh
# Regenerates constraints.txt: the exact versions every install uses (README commands, CI).
# Run it after changing dependencies in pyproject.toml, then run the tests and commit both.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade "pip>=24"
"$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check ".[test]"
{
  echo "# Exact versions for every install (scripts/setup-env.sh, .ci/run)."
  echo "# Regenerate with: sh scripts/update-constraints.sh   (then run the tests, commit)"
  "$tmp/venv/bin/python" -m pip freeze --exclude-editable --all | grep -v -i -E '^(crpv-kb|pip|setuptools|wheel)[=@ ]'
} > constraints.txt
echo "constraints.txt : $(grep -c '==' constraints.txt) paquets"
