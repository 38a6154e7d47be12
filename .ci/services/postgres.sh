# Sourced by .ci/run: installs PostgreSQL from Debian packages if missing,
# starts a throwaway cluster in a temp dir on 127.0.0.1 and exports
#   RECOTEM_TEST_POSTGRES_URL, RECOTEM_TEST_POSTGRES_USER, RECOTEM_TEST_POSTGRES_PASSWORD
# for the trial-store tests (trainer/search). Failures are loud but do not
# stop the run: the tests that need it then fail naming the missing variable
# where RECOTEM_TEST_REQUIRE lists postgres (.ci/run does), and skip
# elsewhere.

recotem_pg_start() {
  local bindir port dir pw
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "postgres.sh: installing postgresql"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) || return 1
  fi
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres || return 1
  port=55432
  while (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; do port=$((port + 1)); done
  dir=$(mktemp -d /tmp/recotem-pg.XXXXXX) || return 1
  chown postgres "$dir" && chmod 700 "$dir"
  pw="recotem-ci-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  runuser -u postgres -- "$bindir/initdb" -D "$dir/data" -U postgres \
    --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; return 1; }
  runuser -u postgres -- "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -h 127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null || { cat "$dir/server.log"; return 1; }
  runuser -u postgres -- "$bindir/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
    -c "CREATE ROLE recotem LOGIN PASSWORD '$pw'" \
    -c "CREATE DATABASE recotem_test OWNER recotem" >/dev/null || return 1
  export RECOTEM_TEST_POSTGRES_URL="postgresql://127.0.0.1:$port/recotem_test"
  export RECOTEM_TEST_POSTGRES_USER=recotem
  export RECOTEM_TEST_POSTGRES_PASSWORD="$pw"
  export RECOTEM_TEST_POSTGRES_DIR="$dir"
  echo "postgres.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

if ! recotem_pg_start; then
  echo "postgres.sh: ERROR: PostgreSQL did not start: the PostgreSQL tests FAIL where RECOTEM_TEST_REQUIRE lists postgres (.ci/run does) and skip elsewhere" >&2
fi
unset -f recotem_pg_start
