# Sourced by .ci/run: installs azurite (the Azure Storage emulator, from npm)
# into a cache prefix if missing, starts its blob service on 127.0.0.1 over a
# temp directory, creates a container and exports
#   RECOTEM_TEST_AZURE_ENDPOINT  (http://127.0.0.1:PORT/devstoreaccount1)
#   RECOTEM_TEST_AZURE_CONTAINER, RECOTEM_TEST_AZURE_ACCOUNT,
#   RECOTEM_TEST_AZURE_KEY, RECOTEM_TEST_AZURE_CONNECTION_STRING,
#   RECOTEM_TEST_AZURE_DIR (data, log and pid file)
# for the object-store tests (tools/blob), which set the AZURE_STORAGE_*
# variables themselves. The account and key are azurite's published
# development account (devstoreaccount1): test-only, never a secret. Failures
# are loud but do not stop the run: the tests that need it then fail naming
# the missing variable where RECOTEM_TEST_REQUIRE lists azure (.ci/run does),
# and skip elsewhere.
# Stop it with: kill "$(cat "$RECOTEM_TEST_AZURE_DIR/pid")" (azurite waits for open
# keep-alive connections on the first TERM; a second TERM ends it at once)

recotem_azure_start() {
  local prefix bin port dir i acct key
  command -v node >/dev/null 2>&1 || { echo "azure.sh: node is not installed" >&2; return 1; }
  prefix="${XDG_CACHE_HOME:-$HOME/.cache}/recotem-ci/azurite"
  bin="$prefix/node_modules/.bin/azurite-blob"
  if [ ! -x "$bin" ]; then
    echo "azure.sh: installing azurite into $prefix"
    mkdir -p "$prefix" || return 1
    npm install --prefix "$prefix" --no-audit --no-fund azurite@3.37.0 >/dev/null || return 1
  fi
  port=57270
  while (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; do port=$((port + 1)); done
  dir=$(mktemp -d /tmp/recotem-azure.XXXXXX) || return 1
  mkdir -p "$dir/data"
  "$bin" --blobHost 127.0.0.1 --blobPort "$port" --location "$dir/data" \
    --skipApiVersionCheck --loose --silent >"$dir/server.log" 2>&1 &
  echo $! >"$dir/pid"
  for i in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
    sleep 0.1
  done
  acct=devstoreaccount1
  key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
  # Create the container with a SharedKey-signed request (node is there:
  # azurite runs on it).
  RECOTEM_AZ_PORT="$port" RECOTEM_AZ_ACCT="$acct" RECOTEM_AZ_KEY="$key" node -e '
    const http = require("http"), crypto = require("crypto");
    const port = process.env.RECOTEM_AZ_PORT, acct = process.env.RECOTEM_AZ_ACCT;
    const key = Buffer.from(process.env.RECOTEM_AZ_KEY, "base64");
    const date = new Date().toUTCString(), ver = "2021-10-04", ctr = "recotem-test";
    const sts = ["PUT", "", "", "", "", "", "", "", "", "", "", "",
      "x-ms-date:" + date + "\nx-ms-version:" + ver,
      "/" + acct + "/" + acct + "/" + ctr + "\nrestype:container"].join("\n");
    const sig = crypto.createHmac("sha256", key).update(sts, "utf8").digest("base64");
    const req = http.request({host: "127.0.0.1", port, method: "PUT",
      path: "/" + acct + "/" + ctr + "?restype=container",
      headers: {"x-ms-date": date, "x-ms-version": ver, "Content-Length": 0,
        "Authorization": "SharedKey " + acct + ":" + sig}}, (res) => {
      let body = ""; res.on("data", (c) => body += c);
      res.on("end", () => {
        if (res.statusCode === 201 || res.statusCode === 409) process.exit(0);
        console.error("azure.sh: create container: HTTP " + res.statusCode + " " + body);
        process.exit(1);
      });
    });
    req.on("error", (e) => { console.error("azure.sh: " + e.message); process.exit(1); });
    req.end();
  ' || { cat "$dir/server.log" >&2; kill "$(cat "$dir/pid")" 2>/dev/null; return 1; }
  export RECOTEM_TEST_AZURE_ENDPOINT="http://127.0.0.1:$port/$acct"
  export RECOTEM_TEST_AZURE_CONTAINER=recotem-test
  export RECOTEM_TEST_AZURE_ACCOUNT="$acct"
  export RECOTEM_TEST_AZURE_KEY="$key"
  export RECOTEM_TEST_AZURE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=$acct;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$port/$acct;"
  export RECOTEM_TEST_AZURE_DIR="$dir"
  echo "azure.sh: azurite blob on 127.0.0.1:$port (pid $(cat "$dir/pid"))"
}

if ! recotem_azure_start; then
  echo "azure.sh: ERROR: azurite did not start: the Azure object-store tests FAIL where RECOTEM_TEST_REQUIRE lists azure (.ci/run does) and skip elsewhere" >&2
fi
unset -f recotem_azure_start
