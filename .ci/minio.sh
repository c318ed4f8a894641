#!/usr/bin/env bash
# Builds MinIO from source with `go install` (cached in $(go env GOPATH), by default $HOME/go),
# starts it on 127.0.0.1 with a temporary data directory and fixed root credentials, waits until it
# is live, creates the test bucket, and prints the lines that point the object-store contract tests
# at it:
#
#   export EDGELOOP_TEST_MINIO_URL='s3://...'
#   export EDGELOOP_TEST_MINIO_PID=1234
#
# Usage: `.ci/minio.sh [ENV_FILE]` writes those lines to ENV_FILE (for `source`) as well as stdout;
# progress goes to stderr. The caller stops the server: `kill "$EDGELOOP_TEST_MINIO_PID"`.
# Measured on the 2-core machine: a cold build (empty module and build caches) takes about 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

# MinIO tags releases as RELEASE.<date>, which Go cannot read as versions, so `@latest` resolves to
# a pseudo-version; we pin the one that built with Go 1.26 here. Override to try another.
version=${EDGELOOP_MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}
build_cap_s=${EDGELOOP_MINIO_BUILD_CAP_S:-480}
user=edgeloop
secret=edgeloop-minio-secret
bucket=edgeloop-test

command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null 2>&1 || { echo "minio.sh: go is not installed" >&2; exit 1; }
bin="$(go env GOPATH)/bin/minio"

if ! { [ -x "$bin" ] && go version -m "$bin" 2>/dev/null | grep -q "mod[[:space:]]*github.com/minio/minio[[:space:]]*$version"; }; then
  echo "minio.sh: building minio@$version (cap ${build_cap_s}s)" >&2
  start=$(date +%s)
  if ! GOFLAGS="${GOFLAGS:-} -mod=mod" timeout "$build_cap_s" go install "github.com/minio/minio@$version" >&2; then
    echo "minio.sh: go install failed or ran past ${build_cap_s}s" >&2
    exit 1
  fi
  echo "minio.sh: built in $(($(date +%s) - start))s" >&2
fi

free_port() {
  node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })"
}
port=$(free_port)
console_port=$(free_port)
data=$(mktemp -d "${TMPDIR:-/tmp}/edgeloop-minio-XXXXXX")
log="$data.log"

# The console is off and bound to loopback anyway; nothing listens beyond 127.0.0.1.
MINIO_ROOT_USER=$user MINIO_ROOT_PASSWORD=$secret MINIO_BROWSER=off MINIO_UPDATE=off \
  nohup "$bin" server "$data" --address "127.0.0.1:$port" --console-address "127.0.0.1:$console_port" \
  >"$log" 2>&1 </dev/null &
pid=$!

endpoint="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
  if node -e "fetch('$endpoint/minio/health/live').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; then
    break
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "minio.sh: minio exited; its log:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.5
done
node -e "fetch('$endpoint/minio/health/live').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))" || {
  echo "minio.sh: minio did not become live within 60s; its log:" >&2
  cat "$log" >&2
  kill "$pid" 2>/dev/null || true
  exit 1
}

# The bucket: with the AWS SDK when `npm ci` has run; the tests also create it (ensureBucket).
if [ -d node_modules/@aws-sdk/client-s3 ]; then
  NODE_NO_WARNINGS=1 node --input-type=module -e "
    import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
    const client = new S3Client({ endpoint: '$endpoint', region: 'us-east-1', forcePathStyle: true,
      credentials: { accessKeyId: '$user', secretAccessKey: '$secret' } });
    await client.send(new CreateBucketCommand({ Bucket: '$bucket' })).catch((e) => {
      if (e.name !== 'BucketAlreadyOwnedByYou') throw e;
    });
    client.destroy();
  "
fi

lines="export EDGELOOP_TEST_MINIO_URL='s3://$user:$secret@$bucket/contract?endpoint=$endpoint&region=us-east-1'
export EDGELOOP_TEST_MINIO_PID=$pid"
echo "minio.sh: minio is live at $endpoint (pid $pid, data $data)" >&2
if [ $# -ge 1 ]; then printf '%s\n' "$lines" >"$1"; fi
printf '%s\n' "$lines"
