#!/usr/bin/env bash
# Faults (issue 8): a partner whose clock is ten minutes off, the answering
# gateway killed with -9 under load and the asker killed with queries in
# flight (nothing answered twice, every audit log verifies), and a peer
# flooding malformed and oversized messages (the others keep being served,
# memory stays bounded). Real gateways on 127.0.0.1, as in mesh.sh.
# Usage: faults.sh PIUGW PIUGWD ROGUE GW_BENCH SLOWSYNC_SO
set -u
umask 0022 # as an operator's shell has it: the gateway must close its files itself
piugw=$1 piugwd=$2 rogue=$3 bench=$4 slowsync=$5
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
base=${PIUGW_TEST_PORT:-29701}
. "$(dirname "$0")/meshlib.sh"

# --- a clock ten minutes off --------------------------------------------------------
check "XA starts" start XA-PIU
check "XB starts" start XB-PIU
ft=$(faketime_preload)
check "libfaketime is there" test -n "$ft"
check "XC starts ten minutes slow" start XC-PIU env LD_PRELOAD="$ft" FAKETIME=-10m
check "XA's query to XC is refused" test "$(ask XA-PIU query --to XC-PIU "${Q[@]}" --document P1234567 --issuer XAA)" -eq 1
check "as STALE" has "STALE"
check "peers flags XC" test "$(ask XA-PIU peers --json)" -eq 1
off=$(sed -n '/"id": "XC-PIU"/,/}/s/.*"clock_offset_ms": \(-\{0,1\}[0-9]*\).*/\1/p' "$dir/out" | head -1)
check "peers shows XC's clock about 600 s behind (${off:-?} ms)" test "${off:-0}" -lt -590000 -a "${off:-0}" -gt -610000
check "and says why" has "freshness window"
check "XC stops" stop XC-PIU
check "XC starts on time" start XC-PIU
check "XC answers again" test "$(ask XA-PIU query --to XC-PIU "${Q[@]}" --document P1234567 --issuer XAA)" -eq 0

# --- the state is the gateway's own, whatever the umask ------------------------------
# This script runs under umask 0022 (set at its top): the imports above and
# the gateways created their files anyway closed. Operators reach the data
# only through the socket in run/.
for id in XA-PIU XB-PIU; do
	open=$(find "$m/$id/state" \( -type f -perm /077 \) -o \( -type d -perm /077 \))
	check "$id's state: nothing open to group or others${open:+ ($open)}" test -z "$open"
	check "$id's store is 0600" test "$(stat -c %a "$m/$id/state/store.db")" = 600
	check "$id's state folder is 0700" test "$(stat -c %a "$m/$id/state")" = 700
	check "$id's socket is 0660, in a 0750 folder" \
		test "$(stat -c %a "$m/$id/run/api.sock") $(stat -c %a "$m/$id/run")" = "660 750"
done
check "XC stops" stop XC-PIU
chmod 0644 "$m/XC-PIU/state/store.db"
st=0
"$piugwd" -c "$(cfg XC-PIU)" >"$dir/xc-open.log" 2>&1 || st=$?
check "a store open to others: XC refuses to start (exit 1)" test "$st" -eq 1
check "naming the path, its mode and the fix" \
	grep -q "state/store.db: mode 0644 lets others than the gateway's user in.*chmod 0600" "$dir/xc-open.log"
st=0
"$piugwd" -n -c "$(cfg XC-PIU)" >"$dir/xc-open.log" 2>&1 || st=$?
check "piugwd -n refuses it too" test "$st" -eq 1
chmod 0600 "$m/XC-PIU/state/store.db"
chmod 0644 "$m/XC-PIU/keys/XC-PIU.cert_secret"
st=0
"$piugwd" -n -c "$(cfg XC-PIU)" >"$dir/xc-open.log" 2>&1 || st=$?
check "piugwd -n refuses a secret key of mode 0644, as a start does" test "$st" -eq 1
check "saying so" grep -q "cert_secret: secret key file has mode 0644" "$dir/xc-open.log"
chmod 0600 "$m/XC-PIU/keys/XC-PIU.cert_secret"

# --- a store the disk has damaged: the partner is told INTERNAL at once --------------
# Every page but the first (SQLite's header) overwritten, as a failing disk
# might: the gateway starts (it reads no row to start) and the search fails.
# PIUGW_EINTERNAL, provoked: the partner gets the reason, not a timeout.
store="$m/XC-PIU/state/store.db"
check "XC's store was closed cleanly (no WAL left)" test ! -s "$store-wal"
cp -p "$store" "$dir/store.good"
pages=$(($(stat -c %s "$store") / 4096))
head -c $(((pages - 1) * 4096)) /dev/zero | tr '\0' '\377' |
	dd of="$store" bs=4096 seek=1 conv=notrunc status=none
check "XC starts on a damaged store" start XC-PIU
check "XA's query to XC fails" test "$(ask XA-PIU query --to XC-PIU "${Q[@]}" --document P1234567 --issuer XAA --deadline 10)" -eq 1
check "  as INTERNAL, with the reason, not as a timeout" grep -q "INTERNAL.*the store could not be searched" "$dir/out"
check "XC logged the cause for its operator" \
	grep -q 'level=error event=store_failed .*backend=sqlite error="database disk image is malformed"' "$dir/XC-PIU.log"
check "XC's audit has the refusal" test "$(run audit show -c "$(cfg XC-PIU)" --event refused --json)" -eq 0
check "  as INTERNAL" grep -q '"INTERNAL"' "$dir/out"
check "XC keeps serving meanwhile (status)" test "$(ask XC-PIU status)" -eq 0
check "XC stops" stop XC-PIU
cp -p "$dir/store.good" "$store"
rm -f "$store-wal" "$store-shm"
check "XC starts again once closed" start XC-PIU

# --- a slow disk: the approver is told once the decision is on record ----------------
# XA's audit flushes take 1.5 s (slowsync.c logs when each starts and ends).
# "approved" promises the decision is on record: the flush that began after
# the approval must have ended when the approver hears it.
check "XA stops" stop XA-PIU
check "XA starts on a slow disk" start XA-PIU env LD_PRELOAD="$(preload "$slowsync")" \
	SLOWSYNC_MS=1500 SLOWSYNC_LOG="$dir/synced"
check "XB's query is held at XA" test "$(ask XB-PIU query --to XA-PIU "${Q[@]}" --document P1234567 --issuer XAA --json)" -eq 0
check "XA lists it" test "$(ask XA-PIU pending --json)" -eq 0
ref=$(sed -n 's/.*"approval_ref": "\(AP-[0-9A-F]*\)".*/\1/p' "$dir/out" | tail -1)
before=$(wc -l <"$dir/synced")
check "an approver approves it" test "$(ask XA-PIU approve "$ref")" -eq 0
# After the approval: a flush began, and ended before the approver was told.
check "  told only once the decision was flushed" \
	sh -c "tail -n +$((before + 1)) '$dir/synced' | grep -A1 -m1 '^start' | grep -q '^synced'"
check "XA stops" stop XA-PIU
check "XA starts on its usual disk" start XA-PIU

# --- the answering gateway killed -9 under load --------------------------------------
printf 'XAA\tP1234567\tDOE\tJOHN\t1980-01-02\n' >"$dir/q.tsv"
api="ipc://$m/XA-PIU/run/api.sock"
"$bench" gateway --api "$api" --queries "$dir/q.tsv" --to XB-PIU --inflight 8 --count 100000 \
	--seconds 8 --deadline-ms 2000 >"$dir/load.out" 2>&1 &
load=$!
n=$(grep -c "event=query_answered" "$dir/XB-PIU.log")
check "XB answers under load" wait_log XB-PIU "event=query_answered" $((n + 50))
kill -KILL "${pid[XB-PIU]}"
wait "${pid[XB-PIU]}" 2>/dev/null
check "XA tells its caller within the deadline" test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --document P1234567 --issuer XAA --deadline 3)" -eq 1
check "as unreachable or timed out" grep -qE "PEER_UNREACHABLE|TIMEOUT" "$dir/out"
wait "$load"
check "the load's queries in flight failed within their deadline" grep -q "errors=[1-9]" "$dir/load.out"
check "XA logged them as expired" grep -qE "event=query_expired peer=XB-PIU .*outcome=(peer_unreachable|timeout)" "$dir/XA-PIU.log"
check "XB starts again" start XB-PIU
check "XB recovers" test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --document P1234567 --issuer XAA --deadline 10)" -eq 0
# Running again, its log verifies intact with an end not yet proven (exit 3).
check "XB's audit verifies after the kill" test "$(run audit verify -c "$(cfg XB-PIU)")" -eq 3
check "intact up to its last record, the end not proven" grep -q "intact up to record" "$dir/out"
check "XB's audit" test "$(run audit show -c "$(cfg XB-PIU)" --event answered --json)" -eq 0
dups=$(grep -o '"message_id": "[0-9a-f]*"' "$dir/out" | sort | uniq -d | wc -l)
check "no request answered twice" test "$dups" -eq 0
check "answers are on record" grep -q '"message_id"' "$dir/out"

# --- the asker killed -9 with queries in flight --------------------------------------
"$bench" gateway --api "$api" --queries "$dir/q.tsv" --to XB-PIU --inflight 8 --count 100000 \
	--seconds 5 >"$dir/load.out" 2>&1 &
load=$!
n=$(grep -c "event=query_sent" "$dir/XA-PIU.log")
check "XA sends under load" wait_log XA-PIU "event=query_sent" $((n + 50))
kill -KILL "${pid[XA-PIU]}"
wait "${pid[XA-PIU]}" 2>/dev/null
wait "$load"
check "XA starts again" start XA-PIU
check "XA's audit verifies after the kill" test "$(run audit verify -c "$(cfg XA-PIU)")" -eq 3
check "XA serves again" test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --document P1234567 --issuer XAA)" -eq 0

# --- the gateway dies while its analyst waits: the CLI says so at once -------------
check "XB stops (XA's query will wait for it)" stop XB-PIU
"$piugw" query -c "$(cfg XA-PIU)" --to XB-PIU "${Q[@]}" --document P1234567 --issuer XAA \
	>"$dir/waiting.out" 2>&1 &
waiting=$!
n=$(grep -c "event=query_sent peer=XB-PIU" "$dir/XA-PIU.log")
check "the query is out" wait_log XA-PIU "event=query_sent peer=XB-PIU" $((n + 1))
kill -KILL "${pid[XA-PIU]}"
wait "${pid[XA-PIU]}" 2>/dev/null
# Bounded: without --deadline it would wait the gateway's 30 s and more.
st=0
timeout 10 tail --pid="$waiting" -f /dev/null || st=$?
check "piugw query returns at once, not after the deadline" test "$st" -eq 0
wait "$waiting"; st=$?
check "  exit 2" test "$st" -eq 2
check "  saying the gateway went away" grep -q "the gateway closed the connection before it answered" "$dir/waiting.out"
check "XA starts again" start XA-PIU
check "XB starts again" start XB-PIU

# --- a peer flooding malformed and oversized messages ----------------------------------
rss() { awk '/VmRSS/ {print $2}' "/proc/${pid[XA-PIU]}/status"; }
before=$(rss)
rg XC-PIU XA-PIU flood --count 1000
check "the flood went out" grep -q "^FLOOD sent=[1-9]" "$dir/out"
echo "flood: $(cat "$dir/out")"
check "XA still serves XB" t2 XB-PIU XA-PIU hello "^HELLO"
check "XA still answers its analysts" test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --document P1234567 --issuer XAA)" -eq 0
after=$(rss)
echo "XA's RSS: ${before} kB before the flood, ${after} kB after"
check "memory stays bounded (under +64 MiB)" test "$after" -lt $((before + 65536))

for id in XA-PIU XB-PIU XC-PIU; do check "$id stops" stop "$id"; done
for id in XA-PIU XB-PIU XC-PIU; do
	check "$id audit verifies" test "$(run audit verify -c "$(cfg "$id")")" -eq 0
	check "$id's log is complete: it ends with a clean stop" has "complete and intact"
done

# --- XA's audit log cut back while it is stopped ----------------------------------------
# An older copy of a log is a log cut at a record boundary: on its own it
# verifies, even "complete" (it ended with a clean stop). What catches it is
# the newest record XA made durable, kept in state.db.
xa=$m/XA-PIU/state
cp -a "$xa/audit" "$dir/xa-audit-old"
check "XB starts" start XB-PIU
check "XA starts" start XA-PIU
check "XA asks XB" test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --document P1234567 --issuer XAA)" -eq 0
check "XA stops" stop XA-PIU
rm -rf "$xa/audit"
cp -a "$dir/xa-audit-old" "$xa/audit"
check "the old copy alone verifies (the log cannot show its own cut)" \
	test "$(run audit verify --dir "$xa/audit" --cert "$m/XA-PIU/etc/certs/XA-PIU.cert")" -eq 0
check "verify -c holds it against state.db: BROKEN (exit 1)" test "$(ask XA-PIU audit verify)" -eq 1
check "and says records were cut" has "records were cut from its end"
"$piugwd" -c "$(cfg XA-PIU)" >"$dir/xa-cut.log" 2>&1 &
refusing=$!
# It serves nothing; its health says why (503) until it is stopped.
for _ in $(seq 1 100); do
	hz=$(curl -s -o "$dir/healthz" -w '%{http_code}' "http://127.0.0.1:$((base + 100))/healthz")
	[ "$hz" = 503 ] && break
	sleep 0.1
done
check "XA refuses to serve on the cut log: /healthz 503" test "$hz" = 503
check "  with the reason" grep -q "the log ends at record [0-9]*, but this gateway had made record" "$dir/healthz"
check "  nothing else listens (no partner port)" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$base) 2>/dev/null"
kill -TERM "$refusing"
st=0
wait "$refusing" || st=$?
check "and exits 3 when stopped (the unit does not restart on it)" test "$st" -eq 3
check "naming both figures" grep -qE "the log ends at record [0-9]+, but this gateway had made record [0-9]+ \(chain hash [0-9a-f]{16}\.\.\.\) durable" "$dir/xa-cut.log"
check "nothing was written to the log" diff -r "$dir/xa-audit-old" "$xa/audit"
check "restore needs a reason (exit 2)" test "$(ask XA-PIU audit restore)" -eq 2
check "restore, on the record" test "$(ask XA-PIU audit restore --reason "disk replaced, log from backup")" -eq 0
check "the restored log verifies complete against state.db" test "$(ask XA-PIU audit verify)" -eq 0
check "and shows what the restore lost" has "restores     1 recorded; the last lost records"
check "the restore is on the log, with who and why" \
	test "$(ask XA-PIU audit show --event log_restored --json)" -eq 0
check "who and why" grep -q "disk replaced, log from backup" "$dir/out"
check "XA starts after the restore" start XA-PIU
check "and serves" test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --document P1234567 --issuer XAA)" -eq 0
check "XA stops" stop XA-PIU
check "XB stops" stop XB-PIU

# --- XA's log and state.db rolled back together: XB's witness tells -------------------
# state.db's anchor cannot catch a copy of the log put back with a copy of
# state.db. The partners can: each Hello shows the sender's newest signed
# checkpoint, and hands back the newest one of the recipient's it witnessed.
sed -i 's/^audit:$/audit:\n  checkpoint_records: 5/' "$(cfg XA-PIU)" # beside its key_file
mkdir -p "$dir/xa-old"
cp -a "$xa/audit" "$xa"/state.db* "$dir/xa-old/"
check "XB starts" start XB-PIU
check "XA starts" start XA-PIU
for i in 1 2 3; do
	check "XA asks XB ($i)" test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --document P1234567 --issuer XAA)" -eq 0
done
# (XC is stopped: peers exits 1 for it; XA answers.)
check "a Hello round from XB" test "$(ask XB-PIU peers --json)" -le 1
check "XA answered it" sh -c "grep -A8 '\"id\": \"XA-PIU\"' '$dir/out' | grep -q '\"reachable\": true'"
check "XB witnessed a checkpoint of XA's log" test "$(ask XB-PIU audit witnessed --peer XA-PIU --json)" -eq 0
cp "$dir/out" "$dir/xb-witness.json"
check "in a file an oversight body can use" grep -q '"format": "piugw witnessed checkpoints v1"' "$dir/xb-witness.json"
check "and XA's log verifies against it while it runs (exit 3: running)" \
	test "$(ask XA-PIU audit verify --witness "$dir/xb-witness.json")" -eq 3
check "XA stops" stop XA-PIU
rm -rf "$xa/audit" "$xa"/state.db*
cp -a "$dir/xa-old/audit" "$dir/xa-old"/state.db* "$xa/"
# Its own anchor cannot tell (it starts: nothing refused it). Whether XB's
# first Hello has already raised the alarm is a matter of timing, not checked.
check "XA starts on the old log and the old state.db alike: its own anchor cannot tell" start XA-PIU
check "a Hello round from XA" test "$(ask XA-PIU peers)" -le 1
check "XB's witness makes XA raise the alarm" wait_log XA-PIU "event=audit_witness_alarm peer=XB-PIU"
check "status says so, exit 1" test "$(ask XA-PIU status)" -eq 1
check "ALARM: XB-PIU witnessed a checkpoint the log no longer holds" has "ALARM: XB-PIU witnessed checkpoint"
hz=$(curl -s -o "$dir/healthz" -w '%{http_code}' "http://127.0.0.1:$((base + 100))/healthz")
check "/healthz answers 503 ($hz)" test "$hz" = 503
check "with the reason" grep -q "XB-PIU witnessed checkpoint" "$dir/healthz"
check "the metric" sh -c "curl -s http://127.0.0.1:$((base + 100))/metrics | grep -q '^piugw_audit_witness_alarm 1$'"
check "XB saw XA's log go back" wait_log XB-PIU "event=partner_log_went_back peer=XA-PIU"
check "offline, XB's witness file shows it too: BROKEN (exit 1)" \
	test "$(ask XA-PIU audit verify --witness "$dir/xb-witness.json")" -eq 1
check "naming the witness" has "XB-PIU witnessed it: the log holds no record"
echo '{"gateway": "XA-PIU", "witness": "XB-PIU", "checkpoints": [{"seq": 1, "time_ms": 1, "head_hash": "00", "first_seq": 1, "signature": "00"}]}' >"$dir/forged.json"
check "a witness file that is not one: exit 2" test "$(ask XA-PIU audit verify --witness "$dir/forged.json")" -eq 2
check "XA stops" stop XA-PIU
check "XB stops" stop XB-PIU

# A cut through the final checkpoint (truncate -s -3) is never "complete".
cp -a "$xa/audit" "$dir/xa-audit-cut"
seg=$(ls "$dir/xa-audit-cut"/audit-*.seg | tail -n 1)
truncate -s -3 "$seg"
check "a torn end: intact, the end not proven (exit 3)" \
	test "$(run audit verify --dir "$dir/xa-audit-cut" --cert "$m/XA-PIU/etc/certs/XA-PIU.cert")" -eq 3
check "in its words" has "but the end is not proven"
warnings
finish
