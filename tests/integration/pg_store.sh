#!/usr/bin/env bash
# The traveller store in PostgreSQL (issue 23), in a running mesh: XB keeps
# its travellers in a private PostgreSQL 15 (deploy/examples/pgcluster), imported
# with piugw import; XA asks XB by document and by a fuzzy name and gets
# the same answers as from SQLite. Then the server goes away while XA keeps
# asking (one query after another until it is back): every answer is a hit or a
# refusal that says "store unavailable", never a false "no hit"; XB's
# /healthz says 503 with the reason; the server comes back and XB answers
# again without a restart. Each query XB received is on its audit log,
# which verifies.
# Usage: pg_store.sh PIUGW PIUGWD ROGUE
set -u
piugw=$1 piugwd=$2 rogue=$3
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
base=${PIUGW_TEST_PORT:-31501}
. "$(dirname "$0")/meshlib.sh"
pg=$top/deploy/examples/pgcluster
chmod o+x "$dir"
trap 'for p in "${pid[@]}"; do kill -KILL "$p" 2>/dev/null; done; wait 2>/dev/null
      "$pg" stop "$dir/pg" >/dev/null 2>&1
      [ -n "${PIUGW_TEST_KEEP:-}" ] && echo "kept: $dir" || rm -rf "$dir"' EXIT
conn=$("$pg" start "$dir/pg") || { echo "the private PostgreSQL did not start"; exit 1; }

printf 'store:\n  backend: postgresql\n  conninfo: "%s"\n' "$conn" >>"$(cfg XB-PIU)"
check "XB's configuration names the PostgreSQL store" test "$(ask XB-PIU policy check)" -eq 0
check "piugw store migrate makes its schema" test "$(ask XB-PIU store migrate)" -eq 0
check "  saying so" has "the store (postgresql) had no schema: made at schema 3"
check "  and again: nothing to do" test "$(ask XB-PIU store migrate --json)" -eq 0 -a "$(jq -r '.was' "$dir/out")" = 3
check "the travellers go into it" test "$(ask XB-PIU import --format csv "$dir/travellers.csv")" -eq 0
check "  counted as stored" has "stored"
check "  and the PNR" test "$(ask XB-PIU import --format pnrgov "$dir/pnr.edi")" -eq 0
check "the store says what it holds" test "$(ask XB-PIU store stats --json)" -eq 0
rows=$(jq -r .rows "$dir/out")
check "  ($rows rows, in PostgreSQL)" test "$(psql "$conn" -qtA -c 'SELECT count(*) FROM traveller')" = "$rows"
check "an import again replaces, not doubles" test "$(ask XB-PIU import --format csv "$dir/travellers.csv")" -eq 0
check "  the same rows" test "$(psql "$conn" -qtA -c 'SELECT count(*) FROM traveller')" = "$rows"

for id in XA-PIU XB-PIU; do check "$id starts" start "$id"; done
Q=(--to XB-PIU --purpose terrorism --case CASE-PG --reason "travel pattern")
check "XA asks XB by document" test "$(ask XA-PIU query "${Q[@]}" --document P1234567 --issuer XAA)" -eq 0
check "  a hit from PostgreSQL" has "hit: 1 match"
check "  John Doe, his booking joined (API and PNR one person)" has "record_locator=PNR7QX"
check "XA asks by a name in another spelling" test "$(ask XA-PIU query "${Q[@]}" --name Iwanowa --given Svetlana --dob 1985-03-04 --fuzzy)" -eq 0
check "  a fuzzy hit, for review" has "NEEDS REVIEW"

# The server goes away while XA asks, and comes back.
(
	for i in $(seq 3000); do
		[ -e "$dir/enough" ] && break
		"$piugw" query -c "$(cfg XA-PIU)" "${Q[@]}" --document P1234567 --issuer XAA --deadline 10 >"$dir/q$i.tmp" 2>&1
		mv "$dir/q$i.tmp" "$dir/q$i.out"
	done
) &
load=$!
# A few answered first: the server goes away in the middle of the load.
until [ "$(ls "$dir"/q*.out 2>/dev/null | wc -l)" -ge 10 ]; do
	kill -0 "$load" 2>/dev/null || break
	read -r -t 0.05 <>"$dir/travellers.csv" || true
done
check "the server stops under load" "$pg" stop "$dir/pg"
check "XA asks: refused, store unavailable" test "$(ask XA-PIU query "${Q[@]}" --document P1234567 --issuer XAA)" -ne 0
check "  INTERNAL, saying so, not a no hit" sh -c "grep -q 'INTERNAL: store unavailable' '$dir/out' && grep -q '0 answered (0 hit, 0 no hit)' '$dir/out'"
hz=$(curl -s -o "$dir/healthz" -w '%{http_code}' "http://127.0.0.1:$((base + 101))/healthz")
check "XB's /healthz: 503" test "$hz" = 503
check "  with the reason" grep -q "the traveller store is unavailable" "$dir/healthz"
check "XB logs why it refused" wait_log XB-PIU "event=store_failed.*backend=postgresql"
check "the server starts again" sh -c "'$pg' start '$dir/pg' >/dev/null"
check "XB said the store went away" wait_log XB-PIU "event=store_unavailable backend=postgresql"
# XB tries again by itself, at most once a backoff (1 s, doubling to 30 s), and says so.
check "XB finds it back without a restart" sh -c "timeout 60 tail -n +1 -F '$dir/XB-PIU.log' 2>/dev/null | grep -q -m1 'event=store_available backend=postgresql'"
check "  its /healthz: 200" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((base + 101))/healthz")" = 200
check "XA asks: a hit again" test "$(ask XA-PIU query "${Q[@]}" --document P1234567 --issuer XAA)" -eq 0
check "  hit" has "hit: 1 match"
touch "$dir/enough"
wait "$load"
total=$(ls "$dir"/q*.out | wc -l)
hits=$(grep -l "1 answered (1 hit, 0 no hit)" "$dir"/q*.out | wc -l)
down=$(grep -l "INTERNAL: store unavailable" "$dir"/q*.out | wc -l)
echo "  under load: $total queries, $hits hits, $down refused while the store was away"
check "every answer under load was a hit or 'store unavailable'" test $((hits + down)) -eq "$total"
check "  none a no hit" test "$(grep -l '[1-9][0-9]* no hit)' "$dir"/q*.out | wc -l)" -eq 0
check "  some came while it was away" test "$down" -ge 1
check "  and hits before it went and after it came back" test "$hits" -ge 11
for id in XA-PIU XB-PIU; do check "$id stops" stop "$id"; done
sent=$("$piugw" audit show -c "$(cfg XA-PIU)" --json --event query_sent --peer XB-PIU | jq .count)
got=$("$piugw" audit show -c "$(cfg XB-PIU)" --json --peer XA-PIU | jq '[.events[] | select(.event == "answered" or .event == "refused")] | length')
check "XB's audit log has each query XA sent ($sent): $got" test "$sent" = "$got"
for id in XA-PIU XB-PIU; do
	check "$id's audit log verifies" test "$(ask "$id" audit verify)" -eq 0
done
finish
