#!/usr/bin/env bash
# A working group of eight (issue 24) on 127.0.0.1: a mesh made with piugw's
# own commands only (mkmesh --members 8: keygen, directory add and sign,
# agreement new and sign, config new), every gateway with an agreement with
# every other; a fan-out to all seven partners, then with two of them
# killed: the five answers and the two PEER_UNREACHABLE come without waiting
# for the query's deadline, with the summary. Synchronised on events, never
# on sleeps; the fan-out's bound (timeout 15 s, deadline 30 s) only ends a
# gateway that waited for the dead.
# Usage: working_group.sh PIUGW PIUGWD ROGUE
set -u
piugw=$1 piugwd=$2 rogue=$3
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
base=${PIUGW_TEST_PORT:-30101}
members=8
. "$(dirname "$0")/meshlib.sh"

check "eight members made by the CLI" test "$(echo $ids | wc -w)" -eq 8
check "  their key files apart from etc/ and state/" test -f "$m/XA-PIU/keys/XA-PIU.cert_secret" -a ! -e "$m/XA-PIU/etc/certs/XA-PIU.cert_secret"
check "  each with seven agreements, signed by both" test "$(ask XA-PIU agreement check -c "$(cfg XA-PIU)" "$m"/XA-PIU/etc/agreements/*.yaml)" -eq 0
check "  all in force" test "$(grep -c 'state        in force' "$dir/out")" -eq 7
for id in $ids; do check "$id starts" start "$id"; done
check "  and keeps no key in reach (no key_readable)" test "$(cat "$dir"/*.log | grep -c key_readable)" -eq 0

fan() { timeout 15 "$piugw" query -c "$(cfg XA-PIU)" --to all "${Q[@]}" --document P1234567 --issuer XAA --deadline 30 "$@" >"$dir/out" 2>"$dir/err"; echo $?; }
check "a fan-out to all seven" test "$(fan)" -eq 0
check "  seven hits, in the summary" has "summary: 7 partners, 7 answered (7 hit, 0 no hit), 0 pending, 0 refused, 0 unreachable; hit: XB-PIU XC-PIU XD-PIU XE-PIU XF-PIU XG-PIU XH-PIU"

kill -KILL "${pid[XG-PIU]}" "${pid[XH-PIU]}"
wait "${pid[XG-PIU]}" "${pid[XH-PIU]}" 2>/dev/null
unset 'pid[XG-PIU]' 'pid[XH-PIU]'
check "two members killed: XA sees them go" wait_log XA-PIU "event=peer_disconnected peer=XH-PIU"
rc=$(fan)
check "the fan-out ends without its deadline (exit $rc: 1, two unreachable)" test "$rc" -eq 1
check "  five answers and two PEER_UNREACHABLE" has "summary: 7 partners, 5 answered (5 hit, 0 no hit), 0 pending, 0 refused, 2 unreachable; hit: XB-PIU XC-PIU XD-PIU XE-PIU XF-PIU; unreachable: XG-PIU XH-PIU"
check "  each with since when and why" test "$(grep -c 'no connection since' "$dir/out")" -eq 2
rc=$(fan --json --stream)
check "  as JSON lines: seven answers, then the summary" test "$(grep -c '^{"answer":' "$dir/out")" -eq 7 -a "$(tail -1 "$dir/out" | grep -c '"unreachable":{"count":2,')" -eq 1

for id in $ids; do
	case $id in XG-PIU | XH-PIU) continue ;; esac
	check "$id stops" stop "$id"
done
for id in XA-PIU XB-PIU; do
	check "$id's audit log verifies" test "$(ask $id audit verify)" -eq 0
done
warnings
finish
