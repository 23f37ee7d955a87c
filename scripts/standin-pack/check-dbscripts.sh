#!/usr/bin/env bash
# Check the stand-in pack's dbscripts against throwaway MariaDB/MySQL and
# PostgreSQL servers:
#   - every script applies to an empty latin1 database (MySQL) / database (PG);
#   - a second run of every script fails (they are not re-runnable);
#   - on a utf8mb4 database, identity/mysql.sql fails with
#     "Specified key was too long; max key length is 3072 bytes".
#
#   scripts/standin-pack/check-dbscripts.sh [mysql] [postgresql]   (default: both)
#
# Each server is private to this run: its own data directory under a temp dir,
# a Unix socket only (no TCP), stopped and deleted at exit. It does not touch a
# MariaDB or PostgreSQL the machine already runs. Exit status: 0 all checks
# passed, 1 a check failed, 77 a requested server is not installed
# (apt-get install mariadb-server postgresql).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
DB=$SCRIPT_DIR/pack/wso2is-5.10.0/dbscripts
want=("$@")
((${#want[@]})) || want=(mysql postgresql)

failures=0
skipped=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
skip() { echo "SKIP $*"; skipped=$((skipped + 1)); }

tmp=$(mktemp -d /tmp/standin-dbcheck.XXXXXX)
chmod 755 "$tmp"
my_pid=""
pg_bin=""
pg_run=()
cleanup() {
  if [[ -n $my_pid ]] && kill -0 "$my_pid" 2> /dev/null; then
    kill -TERM "$my_pid" 2> /dev/null || true
    for _ in $(seq 100); do kill -0 "$my_pid" 2> /dev/null || break; sleep 0.1; done
  fi
  if [[ -n $pg_bin && -f $tmp/pg/data/postmaster.pid ]]; then
    "${pg_run[@]}" "$pg_bin/pg_ctl" -D "$tmp/pg/data" -m fast -w stop > /dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# expect_fail LABEL PATTERN OUTPUT-FILE: the run failed and said PATTERN.
expect_fail() {
  if grep -q -- "$2" "$3"; then pass "$1: $(grep -m1 -- "$2" "$3")"; else fail "$1: expected '$2', got: $(head -c 400 "$3")"; fi
}

check_mysql() {
  local server install client
  server=$(command -v mariadbd || command -v mysqld || ls /usr/sbin/mariadbd /usr/sbin/mysqld 2> /dev/null | head -1 || true)
  install=$(command -v mariadb-install-db || command -v mysql_install_db || true)
  client=$(command -v mariadb || command -v mysql || true)
  [[ -n $server && -n $install && -n $client ]] || { skip "mysql: no MariaDB/MySQL server here (apt-get install mariadb-server)"; return; }
  local d=$tmp/my user=()
  [[ $(id -u) == 0 ]] && user=(--user=root)
  mkdir -p "$d"
  "$install" --no-defaults --datadir="$d/data" "${user[@]}" --auth-root-authentication-method=normal > "$d/install.log" 2>&1 \
    || { fail "mysql: $install failed: $(tail -3 "$d/install.log")"; return; }
  "$server" --no-defaults --datadir="$d/data" --socket="$d/sock" --skip-networking "${user[@]}" \
    --pid-file="$d/pid" --log-error="$d/err" < /dev/null > /dev/null 2>&1 &
  my_pid=$!
  local m=("$client" --no-defaults -S "$d/sock" -uroot)
  for _ in $(seq 100); do "${m[@]}" -e 'SELECT 1' > /dev/null 2>&1 && break; sleep 0.1; done
  "${m[@]}" -e 'SELECT 1' > /dev/null 2>&1 || { fail "mysql: server did not come up: $(tail -3 "$d/err")"; return; }
  echo "mysql: $("${m[@]}" -N -e 'SELECT VERSION()')"
  "${m[@]}" -e "CREATE DATABASE shared_db CHARACTER SET latin1; CREATE DATABASE identity_db CHARACTER SET latin1;
                CREATE DATABASE identity_utf8 CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;"
  local f db
  for f in mysql.sql identity/mysql.sql identity/uma/mysql.sql consent/mysql.sql; do
    db=identity_db; [[ $f == mysql.sql ]] && db=shared_db
    if "${m[@]}" "$db" < "$DB/$f" > "$d/out" 2>&1; then pass "mysql: $f applies to latin1 $db"; else fail "mysql: $f on latin1 $db: $(cat "$d/out")"; fi
  done
  for f in mysql.sql identity/mysql.sql identity/uma/mysql.sql consent/mysql.sql; do
    db=identity_db; [[ $f == mysql.sql ]] && db=shared_db
    if "${m[@]}" "$db" < "$DB/$f" > "$d/out" 2>&1; then fail "mysql: second run of $f succeeded"; else expect_fail "mysql: second run of $f fails" 'ERROR 106[12]' "$d/out"; fi
  done
  if "${m[@]}" identity_utf8 < "$DB/identity/mysql.sql" > "$d/out" 2>&1; then
    fail "mysql: identity/mysql.sql applied to a utf8mb4 database"
  else
    expect_fail "mysql: identity/mysql.sql on utf8mb4 fails" 'max key length is 3072 bytes' "$d/out"
  fi
}

check_postgresql() {
  pg_bin=$( (pg_config --bindir 2> /dev/null || ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -1) | head -1)
  [[ -n $pg_bin && -x $pg_bin/initdb && -x $pg_bin/pg_ctl ]] || { pg_bin=""; skip "postgresql: no PostgreSQL server here (apt-get install postgresql)"; return; }
  command -v psql > /dev/null || { pg_bin=""; skip "postgresql: no psql (apt-get install postgresql-client)"; return; }
  local d=$tmp/pg
  if [[ $(id -u) == 0 ]]; then
    id postgres > /dev/null 2>&1 || { pg_bin=""; skip "postgresql: running as root and there is no postgres user"; return; }
    pg_run=(runuser -u postgres --)
  fi
  mkdir -p "$d"
  [[ $(id -u) == 0 ]] && chown postgres "$d"
  "${pg_run[@]}" "$pg_bin/initdb" -D "$d/data" -A trust -U postgres > "$d/initdb.log" 2>&1 \
    || { fail "postgresql: initdb failed: $(tail -3 "$d/initdb.log")"; return; }
  "${pg_run[@]}" "$pg_bin/pg_ctl" -D "$d/data" -l "$d/log" -w \
    -o "-c listen_addresses='' -c unix_socket_directories=$d -p 5432" start > /dev/null \
    || { fail "postgresql: server did not come up: $(tail -3 "$d/log")"; return; }
  local p=(psql -h "$d" -p 5432 -U postgres -X -q -v ON_ERROR_STOP=1)
  echo "postgresql: $("${p[@]}" -d postgres -Atc 'SHOW server_version')"
  "${p[@]}" -d postgres -c 'CREATE DATABASE shared_db' -c 'CREATE DATABASE identity_db'
  local f db
  for f in postgresql.sql identity/postgresql.sql identity/uma/postgresql.sql consent/postgresql.sql; do
    db=identity_db; [[ $f == postgresql.sql ]] && db=shared_db
    if "${p[@]}" -d "$db" -f "$DB/$f" > "$d/out" 2>&1; then pass "postgresql: $f applies to $db"; else fail "postgresql: $f on $db: $(cat "$d/out")"; fi
  done
  for f in postgresql.sql identity/postgresql.sql identity/uma/postgresql.sql consent/postgresql.sql; do
    db=identity_db; [[ $f == postgresql.sql ]] && db=shared_db
    if "${p[@]}" -d "$db" -f "$DB/$f" > "$d/out" 2>&1; then fail "postgresql: second run of $f succeeded"; else expect_fail "postgresql: second run of $f fails" 'cannot drop table' "$d/out"; fi
  done
}

for w in "${want[@]}"; do
  case $w in
    mysql | mariadb) check_mysql ;;
    postgresql | postgres | pg) check_postgresql ;;
    *) echo "usage: $0 [mysql] [postgresql]" >&2; exit 2 ;;
  esac
done
((failures == 0)) || { echo "$failures check(s) failed"; exit 1; }
((skipped == 0)) || { echo "passed, but $skipped server(s) were not installed, so not checked"; exit 77; }
echo "all dbscripts checks passed"
