#!/usr/bin/env bash
# The private PostgreSQL of the tests (deploy/examples/pgcluster, issue 23): made and
# started in a temporary folder, version 15, pg_trgm available, reachable
# only on its Unix socket with peer authentication (another user of the
# machine is refused the calling user's role; no TCP port), and stopped
# with nothing left running.
# Usage: pg.sh
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
pg=$top/deploy/examples/pgcluster
chmod o+x "$dir"
trap '"$pg" stop "$dir/pg" >/dev/null 2>&1; rm -rf "$dir"' EXIT
conn=$("$pg" start "$dir/pg" 2>"$dir/err")
check "it starts" test -n "$conn"
check "  saying how to connect" test "$conn" = "host=$dir/pg/sock dbname=piugw_test"
q() { psql "$conn" -qtA -v ON_ERROR_STOP=1 -c "$1" 2>"$dir/err"; }
check "PostgreSQL 15" test "$(q 'SHOW server_version_num' | cut -c 1-2)" = 15
check "the calling user's role owns piugw_test" test "$(q 'SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()')" = "$(id -un)"
check "pg_trgm can be had" test "$(q 'CREATE EXTENSION IF NOT EXISTS pg_trgm; SELECT extname FROM pg_extension WHERE extname = '"'pg_trgm'"'')" = pg_trgm
check "no TCP port" test "$(q 'SHOW listen_addresses')" = ""
if [ "$(id -u)" -eq 0 ]; then
	check "another user is refused the role (peer authentication)" test "$(setpriv --reuid=65534 --regid=65534 --clear-groups \
		psql "$conn user=$(id -un)" -qtA -c 'SELECT 1' 2>&1 | grep -c 'Peer authentication failed')" -eq 1
fi
check "started again, it is the same cluster" sh -c "'$pg' stop '$dir/pg' && '$pg' start '$dir/pg' >/dev/null && test \"\$(psql '$conn' -qtA -c 'SELECT count(*) FROM pg_extension WHERE extname = '\\''pg_trgm'\\''')\" = 1"
check "it stops" "$pg" stop "$dir/pg"
check "  and nothing of it runs" test "$("$pg" status "$dir/pg"; echo $?)" -ne 0
finish
