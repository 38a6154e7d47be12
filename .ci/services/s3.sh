# Sourced by .ci/run: installs versitygw (an S3 gateway over a POSIX
# directory) if missing, starts it on 127.0.0.1 over a temp directory with a
# throwaway access key, creates a bucket and exports
#   RECOTEM_TEST_S3_ENDPOINT, RECOTEM_TEST_S3_BUCKET,
#   RECOTEM_TEST_S3_ACCESS_KEY, RECOTEM_TEST_S3_SECRET_KEY, RECOTEM_TEST_S3_REGION
# for the object-store tests (tools/blob, trainer/source/blobsrc), which set
# the AWS_* variables themselves. Failures are loud but do not stop the run:
# the tests that need it then fail naming the missing variable where
# RECOTEM_TEST_REQUIRE lists s3 (.ci/run does), and skip elsewhere.

recotem_s3_start() {
  local bin port dir ak sk i
  bin="$(go env GOPATH)/bin/versitygw"
  if [ ! -x "$bin" ]; then
    echo "s3.sh: installing versitygw"
    GOFLAGS= go install github.com/versity/versitygw/cmd/versitygw@v1.8.0 || return 1
  fi
  port=57070
  while (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; do port=$((port + 1)); done
  dir=$(mktemp -d /tmp/recotem-s3.XXXXXX) || return 1
  mkdir -p "$dir/root" "$dir/versions"
  ak="recotemci$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  sk="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  ROOT_ACCESS_KEY="$ak" ROOT_SECRET_KEY="$sk" \
    "$bin" --port "127.0.0.1:$port" --region us-east-1 posix --versioning-dir "$dir/versions" "$dir/root" \
    >"$dir/server.log" 2>&1 &
  echo $! >"$dir/pid"
  for i in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
    sleep 0.1
  done
  # sha256 of the empty body: versitygw wants the payload hash header.
  curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ak:$sk" -X PUT \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    "http://127.0.0.1:$port/recotem-test" >/dev/null || { cat "$dir/server.log"; return 1; }
  export RECOTEM_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
  export RECOTEM_TEST_S3_BUCKET=recotem-test
  export RECOTEM_TEST_S3_ACCESS_KEY="$ak"
  export RECOTEM_TEST_S3_SECRET_KEY="$sk"
  export RECOTEM_TEST_S3_REGION=us-east-1
  export RECOTEM_TEST_S3_DIR="$dir"
  echo "s3.sh: versitygw $("$bin" --version 2>/dev/null | head -1) on 127.0.0.1:$port (pid $(cat "$dir/pid"))"
}

if ! recotem_s3_start; then
  echo "s3.sh: ERROR: versitygw did not start: the S3 tests FAIL where RECOTEM_TEST_REQUIRE lists s3 (.ci/run does) and skip elsewhere" >&2
fi
unset -f recotem_s3_start
