#!/usr/bin/env bash
# Fuzzes the hub's HTTP API with schemathesis (an independent, Python-side reading of
# /openapi.json): serves the API alone over real parts and seed data (hub/test/serve-api.ts), then
# runs every operation with positive and negative examples and fails on any 5xx.
#
# Usage: .ci/schemathesis.sh [MAX_EXAMPLES]   (per operation; default 30)
#        .ci/schemathesis.sh --install         (only prepares the venv; .ci/run does it early)
# schemathesis lives in its own venv, .cache/schemathesis-venv (pip's cache makes reruns fast).
set -euo pipefail
cd "$(dirname "$0")/.."

max_examples=${1:-30}
version=${EDGELOOP_SCHEMATHESIS_VERSION:-4.32.5}
venv=.cache/schemathesis-venv
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "version $version\$"; then
  echo "schemathesis.sh: installing schemathesis $version in $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q "schemathesis==$version"
fi
[ "$max_examples" = --install ] && exit 0

work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

node --conditions=@edgeloop/source --import tsx hub/test/serve-api.ts >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
ready=
for _ in $(seq 1 240); do
  ready=$(grep -m1 '"event":"ready"' "$work/serve.out" || true)
  [ -n "$ready" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/serve.err" >&2; echo "schemathesis.sh: the API server exited" >&2; exit 1; fi
  sleep 0.5
done
[ -n "$ready" ] || { cat "$work/serve.err" >&2; echo "schemathesis.sh: the API server did not start in 120 s" >&2; exit 1; }
url=$(node -e 'console.log(JSON.parse(process.argv[1]).url)' "$ready")
token=$(node -e 'console.log(JSON.parse(process.argv[1]).token)' "$ready")
echo "schemathesis.sh: API at $url, $max_examples examples per operation" >&2

# not_a_server_error is the acceptance check (0 5xx). The conformance checks keep the document
# honest: every status, content type and JSON body the server sends is one the document declares;
# negative_data_rejection: what violates the schema is refused with a 4xx. Run from the temporary
# directory, so that schemathesis's own cache (.schemathesis/) is not left in the work tree.
# A body over the limit is refused with 413, which schemathesis does not count as a rejection by default.
st="$PWD/$venv/bin/schemathesis"
cd "$work"
cat >schemathesis.toml <<'TOML'
[checks.negative_data_rejection]
expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422]
TOML
"$st" --config-file schemathesis.toml run "$url/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection \
  --max-examples "$max_examples" \
  --seed 20261122 \
  --workers 1 \
  --request-timeout 30 \
  --suppress-health-check all \
  --warnings off
