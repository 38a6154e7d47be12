# Sourced by .ci/run: installs MariaDB from Debian packages if missing,
# starts a throwaway server with a temp datadir on 127.0.0.1 and exports
#   RECOTEM_TEST_MYSQL_URL, RECOTEM_TEST_MYSQL_USER, RECOTEM_TEST_MYSQL_PASSWORD
# for the trial-store tests (trainer/search). Failures are loud but do not
# stop the run: the tests that need it then fail naming the missing variable
# where RECOTEM_TEST_REQUIRE lists mysql (.ci/run does), and skip elsewhere.

recotem_mariadb_start() {
  local server port dir pw client i
  if ! command -v mariadbd >/dev/null 2>&1 && ! [ -x /usr/sbin/mariadbd ]; then
    echo "mariadb.sh: installing mariadb-server"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null) || return 1
  fi
  server=$(command -v mariadbd || echo /usr/sbin/mariadbd)
  client=$(command -v mariadb || command -v mysql) || return 1
  id mysql >/dev/null 2>&1 || useradd --system mysql || return 1
  port=53306
  while (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; do port=$((port + 1)); done
  dir=$(mktemp -d /tmp/recotem-mariadb.XXXXXX) || return 1
  chown mysql "$dir" && chmod 700 "$dir"
  pw="recotem-ci-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  mariadb-install-db --user=mysql --datadir="$dir/data" --auth-root-authentication-method=socket \
    --skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log"; return 1; }
  "$server" --no-defaults --user=mysql --datadir="$dir/data" --socket="$dir/mysqld.sock" \
    --pid-file="$dir/mysqld.pid" --port="$port" --bind-address=127.0.0.1 \
    --log-error="$dir/error.log" --innodb-flush-log-at-trx-commit=0 --max-connections=300 &
  for i in $(seq 1 120); do
    [ -S "$dir/mysqld.sock" ] && "$client" --no-defaults -uroot --socket="$dir/mysqld.sock" -e 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.5
  done
  "$client" --no-defaults -uroot --socket="$dir/mysqld.sock" -e "
    CREATE DATABASE IF NOT EXISTS recotem_test;
    CREATE USER IF NOT EXISTS 'recotem'@'127.0.0.1' IDENTIFIED BY '$pw';
    CREATE USER IF NOT EXISTS 'recotem'@'localhost' IDENTIFIED BY '$pw';
    GRANT ALL ON recotem_test.* TO 'recotem'@'127.0.0.1';
    GRANT ALL ON recotem_test.* TO 'recotem'@'localhost';" || { cat "$dir/error.log"; return 1; }
  export RECOTEM_TEST_MYSQL_URL="mysql://127.0.0.1:$port/recotem_test"
  export RECOTEM_TEST_MYSQL_USER=recotem
  export RECOTEM_TEST_MYSQL_PASSWORD="$pw"
  export RECOTEM_TEST_MYSQL_DIR="$dir"
  echo "mariadb.sh: $("$server" --version | awk '{print $3}') on 127.0.0.1:$port"
}

if ! recotem_mariadb_start; then
  echo "mariadb.sh: ERROR: MariaDB did not start: the MySQL/MariaDB tests FAIL where RECOTEM_TEST_REQUIRE lists mysql (.ci/run does) and skip elsewhere" >&2
fi
unset -f recotem_mariadb_start
