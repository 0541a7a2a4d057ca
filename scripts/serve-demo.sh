#!/bin/sh
# Installs the project into .venv, then serves the demo content: sh scripts/serve-demo.sh [kb serve options]
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup-env.sh
exec .venv/bin/kb serve "$@"
