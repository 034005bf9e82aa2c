#!/usr/bin/env bash
# Installs the Python original (cacheme on PyPI, with redis-py) into a venv, for the benchmark that
# runs it beside this project on the same workload (benchmark/herd200k.ts). Idempotent.
set -euo pipefail
venv="${CACHEME_PYVENV:-$HOME/.cache/cacheme/pyvenv}"
if "$venv/bin/python" -c 'import cacheme, redis' 2>/dev/null; then
  echo "[original] $venv already has cacheme and redis"
  exit 0
fi
command -v python3 >/dev/null || { echo "[original] python3 is not installed" >&2; exit 1; }
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check 'cacheme==0.3.0' redis
echo "[original] installed into $venv"
