#!/usr/bin/env bash
# Installs MLflow for the hub's MLflow-mirror test (hub/src/registry/mlflow.test.ts), which starts a
# real `mlflow server` on 127.0.0.1 and checks what the mirror wrote through MLflow's REST API.
# MLflow lives in its own venv, .cache/mlflow-venv (pip's cache makes reruns fast); the test finds
# it there, or wherever EDGELOOP_MLFLOW_BIN points.
#
# Usage: .ci/mlflow.sh   (prints the path of the mlflow executable)
set -euo pipefail
cd "$(dirname "$0")/.."

version=${EDGELOOP_MLFLOW_VERSION:-3.17.2}
venv=.cache/mlflow-venv
if ! "$venv/bin/python" -c "import mlflow, sys; sys.exit(mlflow.__version__ != '$version')" >/dev/null 2>&1; then
  echo "mlflow.sh: installing mlflow $version in $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >&2
  "$venv/bin/pip" install -q "mlflow==$version" >&2
fi
echo "$PWD/$venv/bin/mlflow"
