#!/usr/bin/env bash
# piugw import says what it stored, on a real gateway tree (made by mkmesh)
# whose audit log the command writes itself: the same records imported
# twice, or again after an import killed with -9 midway, are stored once;
# a transfer time in the future is refused with the row and the reason; a
# store whose disk fills up stores nothing of the file, says so, and the
# audit log says the import failed, with the real counts.
# Usage: cli_import.sh PATH-TO-piugw PATH-TO-gen_travellers
set -u
piugw=$1 gen=$2
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"

m="$dir/mesh"
PIUGW=$piugw "$top/deploy/examples/mkmesh" --base-port 28501 "$m" >/dev/null 2>&1 || { echo "mkmesh failed"; exit 1; }
C="$m/XA-PIU/etc/piugwd.yaml"
rows() { "$piugw" store stats -c "$C" --json | sed -n 's/^ *"rows": \([0-9]*\),*$/\1/p'; }
# The detail of the newest audit record of an import, as its JSON says it.
last_import() {
	"$piugw" audit show -c "$C" --event imported --json |
		sed -n 's/^ *"detail": "\(.*\)",*$/\1/p' | tail -n 1
}

# --- the same records twice --------------------------------------------------------
"$top/deploy/examples/mktravellers" >"$dir/named.csv"
check "first import" test "$(run import --format csv -c "$C" "$dir/named.csv")" -eq 0
first=$(rows)
check "it stored rows ($first)" test "${first:-0}" -gt 0
check "second import of the same file" test "$(run import --format csv -c "$C" "$dir/named.csv")" -eq 0
check "says it replaced what was stored" has "stored ($first replaced a record with the same key)"
check "the store holds each record once" test "$(rows)" -eq "$first"
check "the audit log says so too" grep -q "stored ($first replaced)" <<<"$(last_import)"

# A PAXLST interchange of yesterday, twice: each passenger once per leg.
sed "s/+270530:1200+/+$(date -u -d yesterday +%y%m%d):1200+/" "$top/tests/fixtures/paxlst/basic.edi" >"$dir/basic.edi"
check "PAXLST import" test "$(run import --format paxlst -c "$C" "$dir/basic.edi")" -eq 0
pax=$(($(rows) - first))
check "it stored travellers ($pax)" test "$pax" -gt 0
check "PAXLST again" test "$(run import --format paxlst -c "$C" "$dir/basic.edi")" -eq 0
check "no passenger twice" test "$(rows)" -eq $((first + pax))

# record_id: the sender's own key wins over the natural one.
cat >"$dir/ids.csv" <<'EOF'
record_id,source,transferred_at,surname,given_names,date_of_birth,carrier,flight_number,flight_date
R-1,API,2026-01-02,ROE,RICHARD,1970-05-06,XB,202,2026-01-02
R-2,API,2026-01-02,ROE,RICHARD,1970-05-06,XB,202,2026-01-02
EOF
before=$(rows)
check "rows with record_id" test "$(run import --format csv -c "$C" "$dir/ids.csv")" -eq 0
check "two ids, two rows" test "$(rows)" -eq $((before + 2))
check "again: replaced" test "$(run import --format csv -c "$C" "$dir/ids.csv")" -eq 0
check "still two" test "$(rows)" -eq $((before + 2))

# --- a transfer time in the future ---------------------------------------------------
cat >"$dir/future.csv" <<'EOF'
source,transferred_at,surname,given_names,date_of_birth,carrier,flight_number,flight_date
API,2099-01-01,FUTURE,ROW,1970-05-06,XB,303,2026-01-02
API,2026-01-02,PAST,ROW,1970-05-06,XB,303,2026-01-02
EOF
before=$(rows)
check "a future transfer time: exit 1" test "$(run import --format csv -c "$C" "$dir/future.csv")" -eq 1
check "the row and the reason" has "future.csv:2: row rejected: transferred_at is in the future"
check "the other row is stored" test "$(rows)" -eq $((before + 1))
sed "s/+270530:1200+/+$(date -u -d '+2 days' +%y%m%d):1200+/" "$top/tests/fixtures/paxlst/basic.edi" >"$dir/ahead.edi"
check "a PAXLST interchange dated ahead: exit 1" test "$(run import --format paxlst -c "$C" "$dir/ahead.edi")" -eq 1
check "rejected, saying why" has "(UNB) are in the future"

# --- killed with -9 midway, then again ------------------------------------------------
"$gen" 200000 --seed 3 >"$dir/big.csv"
big=$(($(wc -l <"$dir/big.csv") - 1))
# How many records the file holds: a bare store takes it once.
"$piugw" import --format csv --store "$dir/once.db" "$dir/big.csv" >/dev/null 2>&1
records=$("$piugw" store stats --store "$dir/once.db" --json | sed -n 's/^ *"rows": \([0-9]*\),*$/\1/p')
check "the file holds ${records:-no} records in $big rows" test "${records:-0}" -gt 0
before=$(rows)
"$piugw" import --format csv -c "$C" "$dir/big.csv" >"$dir/killed.out" 2>&1 &
imp=$!
# Killed well into its work: after 2.5 s of CPU (the whole import takes some
# 6 s here), past where an import that committed in batches had stored some.
cpu() { awk '{ print $14 + $15 }' "/proc/$imp/stat" 2>/dev/null || echo -1; }
hz=$(getconf CLK_TCK)
for _ in $(seq 1 600); do
	t=$(cpu)
	[ "$t" -lt 0 ] || [ "$t" -ge $((hz * 5 / 2)) ] && break
	sleep 0.05
done
if kill -KILL "$imp" 2>/dev/null; then
	wait "$imp" 2>/dev/null
	check "the killed import left nothing half-stored" test "$(rows)" -eq "$before"
else
	echo "note: the import ended before it could be killed"
fi
check "the retry" test "$(run import --format csv -c "$C" "$dir/big.csv")" -eq 0
check "exactly the file's records after the retry" test "$(rows)" -eq $((before + records))
check "none rejected" has " 0 rejected"
check "the killed import shows on the log (it began, it never ended)" \
	test "$("$piugw" audit show -c "$C" --event imported --json | grep -c '"detail": "csv import begins')" -ge 2

# --- the store's disk fills up -----------------------------------------------------------
# A 2 MiB tmpfs for the store alone (the audit log stays where it is), in a
# mount namespace of this test's own: the file cannot fit.
if command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
	cat >"$dir/full.sh" <<EOF
set -u
mount -t tmpfs -o size=2m tmpfs "$dir/small" || exit 99
printf 'store:\n  file: %s\n' "$dir/small/store.db" >>"$C"
"$piugw" import --format csv -c "$C" "$dir/named.csv" >/dev/null 2>&1
"$piugw" store stats -c "$C" --json >"$dir/full.before"
"$piugw" import --format csv -c "$C" "$dir/big.csv" >"$dir/full.out" 2>"$dir/full.err"
echo \$? >"$dir/full.status"
"$piugw" store stats -c "$C" --json >"$dir/full.stats"
EOF
	mkdir -p "$dir/small"
	cp "$C" "$dir/piugwd.yaml.orig"
	unshare -m bash "$dir/full.sh"
	cp "$dir/piugwd.yaml.orig" "$C"
	before=$(sed -n 's/^ *"rows": \([0-9]*\),*$/\1/p' "$dir/full.before")
	check "the small store took the small file (${before:-no} rows)" test "${before:-0}" -gt 0
	check "a full disk: the import fails (exit 2)" test "$(cat "$dir/full.status")" -eq 2
	check "saying nothing of the file was stored" grep -q "big.csv: .*nothing of this file was stored" "$dir/full.err"
	check "its summary says FAILED, not stored rows" grep -q "big.csv: .* 0 stored .*FAILED: nothing stored" "$dir/full.out"
	check "the store on that disk holds what it held" \
		test "$(sed -n 's/^ *"rows": \([0-9]*\),*$/\1/p' "$dir/full.stats")" -eq "${before:-0}"
	check "the audit log says the import failed, with the real counts" \
		grep -q "csv import failed: 1 of 1 file not stored; $big read, 0 stored" <<<"$(last_import)"
else
	echo "FAIL: no mount namespace here (unshare -m): the full-disk case did not run"
	fails=$((fails + 1))
fi
finish
