#!/usr/bin/env bash
# Installs python-tuf (the reference TUF client) in its own venv, .cache/tuf-venv, and prints the
# venv's python on stdout. The hub's releases suite runs hub/test/python_tuf_client.py with it
# against the hub's repository, proving that an independent TUF client accepts what we publish.
#
# Usage: export EDGELOOP_PYTHON_TUF="$(.ci/python-tuf.sh)"
set -euo pipefail
cd "$(dirname "$0")/.."

version=${EDGELOOP_PYTHON_TUF_VERSION:-7.0.1}
venv=.cache/tuf-venv
if ! "$venv/bin/python" -c "import tuf, sys; sys.exit(tuf.__version__ != '$version')" >/dev/null 2>&1; then
  echo "python-tuf.sh: installing tuf $version in $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >&2
  "$venv/bin/pip" install -q "tuf==$version" >&2
fi
echo "$PWD/$venv/bin/python"
