#!/usr/bin/env bash
# Three real gateways (XA, XB, XC of the example mesh) on 127.0.0.1, real
# CURVE sockets, real SQLite stores (or PostgreSQL ones: PIUGW_MESH_STORE),
# real keys, in a temporary folder:
# queries, fan-out, approvals, masking, every wire error code that a peer can
# provoke (with a misbehaving peer, rogue), ZAP refusal, replay across a
# restart, revocation of a connected member, agreement mismatch, a partner
# down, audit verification, and no personal data in logs or audit.
# Synchronised on events (the daemons' ready descriptor, log lines), never
# on sleeps.
# Usage: mesh.sh PIUGW PIUGWD ROGUE
set -u
piugw=$1 piugwd=$2 rogue=$3
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
base=${PIUGW_TEST_PORT:-29401}
. "$(dirname "$0")/meshlib.sh"

check "piugwd -n accepts the tree" "$piugwd" -n -c "$(cfg XA-PIU)" >/dev/null
check "piugwd --help" "$piugwd" --help >/dev/null
echo "frobnicate: 1" >"$dir/bad.yaml"
check "piugwd -n refuses a bad file" test "$("$piugwd" -n -c "$dir/bad.yaml" 2>/dev/null; echo $?)" -eq 1
for id in XA-PIU XB-PIU XC-PIU; do check "$id starts" start "$id"; done
# PIUGW_MESH_STORE=postgresql (the mesh_pg test): the same, every store in PostgreSQL.
store=${PIUGW_MESH_STORE:-sqlite}
for id in XA-PIU XB-PIU XC-PIU; do check "$id's store is $store" grep -q "event=ready .* store=$store " "$dir/$id.log"; done

# --- asking and answering -----------------------------------------------------
check "document query" test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --document P1234567 --issuer XAA)" -eq 0
check "document hit" has "hit: 1 match"
check "document disclosed" has "number=P1234567"
check "allowed categories only" test -z "$(grep -E 'api_travel|pnr_contact' "$dir/out")"
# John Doe is in XB's API (mktravellers) and its PNR (mkpnrgov): one match, both.
check "  one person from API and PNR: one match" has "hit: 1 match,"
check "  his booking from the PNR" has "record_locator=PNR7QX"
check "the PNR by record locator" test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --locator PNR7QX)" -eq 0
check "  both travellers of the booking" has "hit: 2 matches"
check "  the itinerary, out and back" has 'carrier="XB" flight_number="102" departure_airport="XBB" arrival_airport="XAA"'
check "  each other's co-traveller" has 'travellers=\[ surname="ROE" given_names="JANE" \]'
check "  the meal request never stored, never sent" test -z "$(grep -i AVML "$dir/out")"
check "XB's record says which source each category came from" sh -c "'$piugw' audit show -c '$(cfg XB-PIU)' --event answered | grep -q 'from API: api.identity, api.document, api.flight; from PNR:'"
check "an old PNR: masked (Art 12(2))" test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --locator OLD777)" -eq 0
check "  MASKED, no name" sh -c "grep -q MASKED '$dir/out' && ! grep -qi mueller '$dir/out'"
check "same query as JSON" test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --document 'P 123 4567' --issuer xaa --json)" -eq 0
check "JSON status" has '"status": "hit"'
# An answer handed to its caller is not kept a second time in state.db.
got=$(sed -n 's/.*"request_id": "\([0-9a-f]*\)".*/\1/p' "$dir/out" | head -1)
check "request id shown" test -n "$got"
check "delivered answer not kept" test "$(ask XA-PIU results "$got")" -eq 1
check "and why" has "answers handed over are not kept"
check "the traveller is not in XA's state.db" test -z "$(grep -la P1234567 "$dir/mesh/XA-PIU/state/"state.db*)"
check "fuzzy name, other transliteration" test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --name Iwanowa --given Svetlana --dob 1985-03-04 --fuzzy)" -eq 0
check "fuzzy hit needs review" has "NEEDS REVIEW"
check "SSR codes never leave" test -z "$(grep MOML "$dir/out")"
check "old record" test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --name Mueller --given Anna --dob 1970-07-07)" -eq 0
check "old record masked" has "MASKED"
check "old name not disclosed" test -z "$(grep -iE 'müller|mueller|anna' "$dir/out")"
check "no hit" test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --document X0000000 --issuer XAA)" -eq 0
check "no hit said" has "no_hit: 0 matches"
check "purpose refused locally" test "$(ask XA-PIU query --to XB-PIU --purpose border_control --case IT-2 --reason r --document P1234567 --issuer XAA)" -eq 1
check "with the partner's code" has "PURPOSE_NOT_ALLOWED"
check "fan-out" test "$(ask XA-PIU query --to all "${Q[@]}" --document P1234567 --issuer XAA)" -eq 0
check "XB answered the fan-out" has "XB-PIU  answered"
check "XC answered the fan-out" has "XC-PIU  answered"
check "XC discloses its own categories" has "pnr_contact"
check "query misuse" test "$(ask XA-PIU query --to XB-PIU --purpose terrorism)" -eq 2
check "not a partner" test "$(ask XA-PIU query --to XZ-PIU "${Q[@]}" --document P1 --issuer XAA)" -eq 1

# --- manual approval and hit/no-hit (XB asks XA) ------------------------------------
check "query held for approval" test "$(ask XB-PIU query --to XA-PIU "${Q[@]}" --document P1234567 --issuer XAA --json)" -eq 0
check "waiting" has '"outcome": "waiting"'
req=$(sed -n 's/.*"request_id": "\([0-9a-f]*\)".*/\1/p' "$dir/out" | head -1)
check "pending at XA" test "$(ask XA-PIU pending --json)" -eq 0
ref=$(sed -n 's/.*"approval_ref": "\(AP-[0-9A-F]*\)".*/\1/p' "$dir/out" | head -1)
check "pending shows the case" has '"case_reference": "IT-1"'
check "approve" test "$(ask XA-PIU approve "$ref")" -eq 0
check "approved: hit" has "approved: hit"
check "approve twice refused" test "$(ask XA-PIU approve "$ref")" -eq 1
check "results --wait" test "$(ask XB-PIU results "$req" --wait 30 --json)" -eq 0
check "hit/no-hit answer" has '"disclosure": "hit_no_hit"'
check "hit counted" has '"match_count": 1'
check "no record under hit/no-hit" test -z "$(grep -E 'api_identity|P1234567' "$dir/out")"
check "second request" test "$(ask XB-PIU query --to XA-PIU "${Q[@]}" --document P1234567 --issuer XAA --json)" -eq 0
req2=$(sed -n 's/.*"request_id": "\([0-9a-f]*\)".*/\1/p' "$dir/out" | head -1)
ask XA-PIU pending --json >/dev/null
ref2=$(sed -n 's/.*"approval_ref": "\(AP-[0-9A-F]*\)".*/\1/p' "$dir/out" | head -1)
check "deny needs a reason" test "$(ask XA-PIU deny "$ref2")" -eq 2
check "deny" test "$(ask XA-PIU deny "$ref2" --reason "not proportionate")" -eq 0
check "results of a denial" test "$(ask XB-PIU results "$req2" --wait 30)" -eq 0
check "denied with the reason" has "denied: not proportionate"
check "  and its handling code, as every answer carries it" has "handling H"
check "results --json" test "$(ask XB-PIU results "$req2" --json)" -eq 0
check "  the denial's handling code" has '"handling_code": "H3"'

check "unknown request id" test "$(ask XB-PIU results 00112233445566778899aabbccddeeff)" -eq 1

# --- operating --------------------------------------------------------------------
check "peers" test "$(ask XA-PIU peers)" -eq 0
check "XB reachable" has "XB-PIU .* reachable"
check "status" test "$(ask XA-PIU status --json)" -eq 0
check "status names the gateway" has '"gateway_id": "XA-PIU"'

# Metrics and health (libmicrohttpd on loopback): the figures move with traffic.
mx=http://127.0.0.1:$((base + 100))
scrape() { curl -sf "$mx/metrics" >"$dir/metrics"; }
sent() { sed -n 's/^piugw_queries_sent_total{peer="XB-PIU",agreement="XA-XB-2026-001"} //p' "$dir/metrics"; }
check "scrape /metrics" scrape
before=$(sent)
ask XA-PIU query --to XB-PIU "${Q[@]}" --document P1234567 --issuer XAA >/dev/null
check "scrape again" scrape
check "queries sent to XB counted" test "$(sent)" -eq $((before + 1))
check "round trips in the histogram" grep -q '^piugw_query_duration_seconds_count{peer="XB-PIU"}' "$dir/metrics"
check "answers received by status" grep -q '^piugw_answers_total{direction="received",peer="XB-PIU",status="hit"}' "$dir/metrics"
check "local refusals by code" grep -q 'code="PURPOSE_NOT_ALLOWED"' "$dir/metrics"
check "peers connected" grep -q '^piugw_peer_connected{peer="XB-PIU"} 1' "$dir/metrics"
check "agreement days left" grep -q '^piugw_agreement_days_left{agreement="XA-XB-2026-001",peer="XB-PIU"}' "$dir/metrics"
check "no personal data in metrics" test -z "$(grep -E 'P1234567|DOE' "$dir/metrics")"
check "healthz 200 when all is well" test "$(curl -s -o "$dir/health" -w '%{http_code}' "$mx/healthz")" = 200
check "health body" grep -q '"status":"ok"' "$dir/health"
check "metrics only on GET" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$mx/metrics")" = 405
xbm=http://127.0.0.1:$((base + 101))
check "XB's metrics count what it answered" sh -c "curl -sf $xbm/metrics | grep -q '^piugw_answers_total{direction=\"sent\",peer=\"XA-PIU\",status=\"hit\"}'"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	# Access is by the socket's permissions (0660, owner and group): another user is refused.
	setpriv --reuid=65534 --regid=65534 --clear-groups "$piugw" status \
		--api "ipc://$m/XA-PIU/run/api.sock" >"$dir/out" 2>"$dir/err"
	check "another user may not use the local API" test $? -eq 2
	check "and is told why" has "permission denied"
fi

# --- imports and purges are on the audit log ---------------------------------------
# meshlib imported before the gateways ran: the command wrote the record itself.
check "the first import is on XB's record" test "$(ask XB-PIU audit show --event imported --json)" -eq 0
check "as it began and as it ended (CSV, then PNRGOV)" has '"count": 4'
check "its beginning" has '"detail": "csv import begins: 1 file"'
check "with its counts (MOML dropped), not the file's name" has '"detail": "csv import: 1 file, 3 read, 3 stored (0 replaced), 0 removed, 0 rejected, 1 sensitive dropped"'
# XB runs now: it writes the record, and answers once the record is durable.
check "import while XB runs" test "$(ask XB-PIU import --format csv "$dir/travellers.csv")" -eq 0
check "XB recorded it" wait_log XB-PIU store_imported
check "two imports on record" test "$(ask XB-PIU audit show --event imported --json)" -eq 0
check "two of each" has '"count": 6'
check "by whom" has "\"operator\": \"$(id -un)\""
check "purge while XB runs" test "$(ask XB-PIU store purge --older-than-days 36500)" -eq 0
check "the erasure is on record" test "$(ask XB-PIU audit show --event purged --json)" -eq 0
check "begun and done" has '"count": 2'
check "no file name in the audit" test -z "$(grep -rl travellers.csv "$m"/XB-PIU/state/audit)"
# The audit log's own retention, while XB runs: XB purges between two turns.
check "audit purge while XB runs" test "$(ask XB-PIU audit purge --older-than-days 1)" -eq 0
check "says what it removed" has "removed 0 segments older than 1 days"
check "XB did it" wait_log XB-PIU "event=audit_purged segments=0 days=1"
check "XB answers after it" test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --document P1234567 --issuer XAA)" -eq 0
rows() { ask "$1" store stats --json >/dev/null; grep -o '"rows": [0-9]*' "$dir/out"; }
before=$(rows XB-PIU)
# Run as someone else than the owner of the state folder, the files it made would lock the gateway out.
chown 65534 "$m/XB-PIU/state"
check "not as another user than the gateway's" test "$(ask XB-PIU import --format csv "$dir/travellers.csv")" -eq 2
check "which it names" has "this needs that user"
check "audit purge as another user: exit 2" test "$(ask XB-PIU audit purge)" -eq 2
check "  saying it needs the gateway's user, not 'Permission denied'" has "belongs to the gateway's user .* and this needs that user"
chown "$(id -u)" "$m/XB-PIU/state"
check "nothing imported" test "$(rows XB-PIU)" = "$before"

# --- every wire error a peer can provoke (XB misbehaving towards XA) ---------------
t() { # t CASE EXPECTED...: rogue XB -> XA
	local c=$1
	shift
	rg XB-PIU XA-PIU "$c" "${@:2}"
	grep -q -- "$1" "$dir/out" || { echo "  rogue $c said: $(head -c 300 "$dir/out")"; return 1; }
}
# named: the last Error names the request (in_reply_to), as PROTOCOL.md section 11 asks
# whenever the request's header could be read, whatever rule refused it.
named() { grep -q "^IN_REPLY_TO ok" "$dir/out" || { echo "  rogue said: $(head -c 300 "$dir/out")"; return 1; }; }
check "hello" t hello "^HELLO 1"
check "MALFORMED envelope" t malformed "^ERROR MALFORMED"
check "an unreadable envelope names nothing" grep -q "^IN_REPLY_TO none" "$dir/out"
check "MALFORMED body" t malformed-body "^ERROR MALFORMED"
check "  names the request" named
check "UNSUPPORTED_VERSION" t version "^ERROR UNSUPPORTED_VERSION"
check "  names the request" named
check "TOO_LARGE" t too-large "^ERROR TOO_LARGE"
check "  names the request" named
check "MALFORMED: two frames" t two-frames "^ERROR MALFORMED a message is exactly one frame"
check "  names the request" named
check "MALFORMED: a 12-byte nonce" t nonce-12 "^ERROR MALFORMED"
check "  names the request" named
check "MALFORMED: sent_at_ms 0" t sent-zero "^ERROR MALFORMED"
check "  names the request" named
check "MALFORMED: a request with in_reply_to" t request-in-reply-to "^ERROR MALFORMED a request carries no in_reply_to"
check "  names the request" named
check "NOT_FOR_ME" t not-for-me "^ERROR NOT_FOR_ME"
check "  names the request" named
check "UNKNOWN_SENDER (sender is not the connection's member)" t sender-mismatch "^ERROR UNKNOWN_SENDER"
check "  names the request" named
check "BAD_SIGNATURE" t bad-signature "^ERROR BAD_SIGNATURE"
check "  names the request" named
check "STALE" t stale "^ERROR STALE" --save "$dir/stale.env"
check "  names the request" named
# Refused before rule 5 or after it, the same bytes get the same reply bytes.
check "the stale message again" t resend "^ERROR STALE" --load "$dir/stale.env" --save "$dir/stale.r1"
check "and again" t resend "^ERROR STALE" --load "$dir/stale.env" --save "$dir/stale.r2"
check "  the same reply bytes, not judged again" cmp -s "$dir/stale.r1" "$dir/stale.r2"
check "NOT_FOR_ME, twice" t not-for-me "^ERROR NOT_FOR_ME" --save "$dir/nfm.env"
t resend "^ERROR NOT_FOR_ME" --load "$dir/nfm.env" --save "$dir/nfm.r1" >/dev/null
t resend "^ERROR NOT_FOR_ME" --load "$dir/nfm.env" --save "$dir/nfm.r2" >/dev/null
check "  the same reply bytes" cmp -s "$dir/nfm.r1" "$dir/nfm.r2"
check "NO_AGREEMENT" t no-agreement "^ERROR NO_AGREEMENT"
check "  names the request" named
# XA's fingerprint of XA-XB, as piugw agreement check prints it
xa_hash=$("$piugw" agreement check -c "$(cfg XA-PIU)" --json "$m/XA-PIU/etc/agreements/XA-XB.yaml" |
	sed -n 's/.*"fingerprint": "\([0-9a-f]\{64\}\)".*/\1/p' | head -1)
check "XA's fingerprint of XA-XB" test ${#xa_hash} -eq 64
check "AGREEMENT_MISMATCH with the responder's hash" t mismatch "^ERROR AGREEMENT_MISMATCH $xa_hash"
check "PURPOSE_NOT_ALLOWED" t purpose "^ERROR PURPOSE_NOT_ALLOWED"
check "QUERY_TYPE_NOT_ALLOWED" t query-type "^ERROR QUERY_TYPE_NOT_ALLOWED"
check "JUSTIFICATION_REQUIRED" t no-justification "^ERROR JUSTIFICATION_REQUIRED"
check "a field this version does not know is ignored" t unknown-field "^RESULT"
check "  and named in the audit record" sh -c "'$piugw' audit show -c '$(cfg XA-PIU)' --peer XB-PIU | grep -q 'fields this version does not know, ignored: Body.30'"
check "a case reference with an escape sequence: MALFORMED" t control-case "^ERROR MALFORMED case_reference holds control characters"
check "a date of birth no one has: MALFORMED, not a false no hit" t bad-dob "^ERROR MALFORMED date_of_birth is not a real"
check "a date of birth in the future: MALFORMED" t future-dob "^ERROR MALFORMED date_of_birth is in the future"
for dob in notadate 1985-13-01 1985-02-30 2999-01-01; do
	check "piugw query --dob $dob: exit 2, nothing sent" \
		test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --name DOE --dob "$dob")" -eq 2
done
check "  saying why" has "in the future"
check "UNKNOWN_QUERY" t unknown-poll "^ERROR UNKNOWN_QUERY"
check "RATE_LIMITED (60 per hour from XB to XA)" t rate "^ERROR RATE_LIMITED" --count 61
check "a stranger's key is refused at ZAP" t unknown-key "^REFUSED_AT_HANDSHAKE"
check "ZAP refusal logged" wait_log XA-PIU "event=zap_refused"

# AGREEMENT_NOT_IN_FORCE: a second, co-signed agreement that starts next year.
next=$(( $(date -u +%Y) + 1 ))
sed -e "s/^agreement: XA-XB-2026-001/agreement: XA-XB-FUTURE/" \
    -e "s/from: 2026-01-01/from: $next-01-01/" "$m/XA-PIU/etc/agreements/XA-XB.yaml" >"$dir/future.yaml"
"$piugw" agreement sign --cert-secret "$m/XA-PIU/keys/XA-PIU.cert_secret" "$dir/future.yaml" >/dev/null
"$piugw" agreement sign --cert-secret "$m/XB-PIU/keys/XB-PIU.cert_secret" "$dir/future.yaml" >/dev/null
for id in XA-PIU XB-PIU; do cp "$dir/future.yaml" "$dir/future.yaml.sig" "$m/$id/etc/agreements/"; done
kill -HUP "${pid[XA-PIU]}"
check "XA reloads" wait_log XA-PIU "event=reloaded serial=1 agreements=3"
check "AGREEMENT_NOT_IN_FORCE" t agreement "^ERROR AGREEMENT_NOT_IN_FORCE" --load XA-XB-FUTURE

# A reload that fails keeps the running configuration.
cp "$m/XA-PIU/etc/piugwd.yaml" "$dir/good.yaml"
echo "frobnicate: 1" >>"$m/XA-PIU/etc/piugwd.yaml"
kill -HUP "${pid[XA-PIU]}"
check "a bad reload is refused" wait_log XA-PIU "event=reload_failed"
cp "$dir/good.yaml" "$m/XA-PIU/etc/piugwd.yaml"
check "and XA still serves" t hello "^HELLO 2"
# A FIFO where an agreement file is expected: the reload must not block the loop.
n=$(grep -c "event=reload_failed" "$dir/XA-PIU.log")
mkfifo "$m/XA-PIU/etc/agreements/zz.yaml"
kill -HUP "${pid[XA-PIU]}"
check "a FIFO among the agreements: the reload is refused, not hung" \
	wait_log XA-PIU "event=reload_failed" $((n + 1))
check "  naming it" grep -q "agreements/zz.yaml: not a regular file" "$dir/XA-PIU.log"
check "  and XA still serves" t hello "^HELLO 2"
check "piugw policy check does not hang on it either (exit 1)" \
	test "$(timeout 20 "$piugw" policy check -c "$(cfg XA-PIU)" >"$dir/out" 2>&1; echo $?)" -eq 1
rm "$m/XA-PIU/etc/agreements/zz.yaml"
mkfifo "$dir/fifo.csv"
check "nor piugw import on a FIFO (exit 1)" \
	test "$(timeout 20 "$piugw" import --format csv --store "$dir/fifo.db" "$dir/fifo.csv" >"$dir/out" 2>&1; echo $?)" -eq 1
check "  saying why" has "fifo.csv: not a regular file"

# Replay: the same bytes after a restart get the same reply; other bytes under the id are refused.
check "a hello to replay" t hello "^HELLO" --save "$dir/hello.env"
check "repeat" t resend "^HELLO" --load "$dir/hello.env" --save "$dir/reply1"
check "XA stops on SIGTERM with 0" stop XA-PIU
check "XA starts again" start XA-PIU
check "repeat after the restart" t resend "^HELLO" --load "$dir/hello.env" --save "$dir/reply2"
check "the very same reply bytes" cmp -s "$dir/reply1" "$dir/reply2"
check "REPLAYED" t reuse-id "^ERROR REPLAYED" --load "$dir/hello.env"

# Agreement copies that differ: XB re-signs an edited copy; XA's query says both hashes.
cp "$m/XB-PIU/etc/agreements/XA-XB.yaml" "$dir/xaxb.yaml"
cp "$m/XB-PIU/etc/agreements/XA-XB.yaml.sig" "$dir/xaxb.yaml.sig"
echo "# edited at XB" >>"$m/XB-PIU/etc/agreements/XA-XB.yaml"
"$piugw" agreement sign --cert-secret "$m/XA-PIU/keys/XA-PIU.cert_secret" "$m/XB-PIU/etc/agreements/XA-XB.yaml" >/dev/null
"$piugw" agreement sign --cert-secret "$m/XB-PIU/keys/XB-PIU.cert_secret" "$m/XB-PIU/etc/agreements/XA-XB.yaml" >/dev/null
kill -HUP "${pid[XB-PIU]}"
check "XB reloads" wait_log XB-PIU "event=reloaded"
check "XB puts the new text on record" wait_log XB-PIU "event=agreement_changed peer=XA-PIU agreement=XA-XB-2026-001"
check "mismatched copies refused" test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --document P1234567 --issuer XAA)" -eq 1
check "AGREEMENT_MISMATCH named" has "AGREEMENT_MISMATCH"
check "with our hash too" has "we hold it as"
check "peers shows the difference" test "$(ask XA-PIU peers)" -eq 1
check "DIFFER" has "DIFFER"
cp "$dir/xaxb.yaml" "$dir/xaxb.yaml.sig" "$m/XB-PIU/etc/agreements/"
mv "$m/XB-PIU/etc/agreements/xaxb.yaml" "$m/XB-PIU/etc/agreements/XA-XB.yaml"
mv "$m/XB-PIU/etc/agreements/xaxb.yaml.sig" "$m/XB-PIU/etc/agreements/XA-XB.yaml.sig"
kill -HUP "${pid[XB-PIU]}"
check "XB reloads its original copy" wait_log XB-PIU "event=reloaded" 2
check "and puts that on record too" wait_log XB-PIU "event=agreement_changed peer=XA-PIU" 2
check "copies agree again" test "$(ask XA-PIU peers)" -eq 0

# Revocation while connected: XC holds a connection to XA; XA suspends their
# agreement; XC's next message on the same connection is not served. (A
# member without an agreement in force is still a member: it may propose
# one, and is told NO_AGREEMENT for anything else.)
coproc RG { "$rogue" -c "$(cfg XC-PIU)" --to XA-PIU hello-twice; }
# bash unsets RG and RG_PID as soon as the coprocess ends: keep copies.
rgpid=$RG_PID
exec {rgout}<&"${RG[0]}" {rgin}>&"${RG[1]}"
read -r -t 20 first <&"$rgout" || first=
check "XC connected and served" test "$first" = "HELLO 1"
"$piugw" agreement suspend -c "$(cfg XA-PIU)" --reason "test" XA-XC-2026-002 >/dev/null
echo go >&"$rgin"
read -r -t 20 second <&"$rgout" || second=
check "cut off on the open connection at once: NO_AGREEMENT" \
	test "${second:0:19}" = "ERROR NO_AGREEMENT "
wait "$rgpid" 2>/dev/null || true
exec {rgout}<&- {rgin}>&-
"$piugw" agreement resume -c "$(cfg XA-PIU)" XA-XC-2026-002 >/dev/null
check "XA recorded the suspension and the resumption" wait_log XA-PIU "event=agreement_changed peer=XC-PIU agreement=XA-XC-2026-002" 2

# The secretariat drops XC from the directory: XA takes the new directory
# though its agreement with XC is still there (it is no longer in force),
# says so, and cuts XC off on its open connection at once.
cp "$m/XA-PIU/etc/directory.yaml" "$m/XA-PIU/etc/directory.yaml.minisig" "$dir/"
coproc RG { "$rogue" -c "$(cfg XC-PIU)" --to XA-PIU hello-twice; }
rgpid=$RG_PID
exec {rgout}<&"${RG[0]}" {rgin}>&"${RG[1]}"
read -r -t 20 first <&"$rgout" || first=
check "XC connected and served" test "$first" = "HELLO 1"
sed -e 's/^serial: 1$/serial: 5/' -e '/^  - id: XC-PIU$/,$d' "$m/secretariat/directory.yaml" >"$m/XA-PIU/etc/directory.yaml"
"$piugw" directory sign --key "$m/secretariat/secretariat.key" "$m/XA-PIU/etc/directory.yaml" >/dev/null
kill -HUP "${pid[XA-PIU]}"
check "XA takes the directory without XC" wait_log XA-PIU "event=reloaded serial=5"
check "  and puts XC's removal on record" wait_log XA-PIU "event=key_changed peer=XC-PIU agreement=- what=\"member removed from the directory\""
echo go >&"$rgin"
read -r -t 20 second <&"$rgout" || second=
check "XC cut off on its open connection at once" test "$second" = "NO_REPLY"
wait "$rgpid" 2>/dev/null || true
exec {rgout}<&- {rgin}>&-
check "status: the agreement is not in force, party not in the directory" \
	sh -c "'$piugw' status -c '$(cfg XA-PIU)' | grep -q 'XA-XC-2026-002 .*party XC-PIU is not in the member directory'"
check "policy check warns" sh -c "'$piugw' policy check -c '$(cfg XA-PIU)' 2>&1 | grep -q 'party XC-PIU is not in the member directory'"
check "/healthz says so" sh -c "curl -s http://127.0.0.1:$((base + 100))/healthz | grep -q 'party XC-PIU is not in the member directory'"
# (XA keeps the highest serial it saw: the original directory comes back re-signed higher.)
sed 's/^serial: 1$/serial: 6/' "$m/secretariat/directory.yaml" >"$m/XA-PIU/etc/directory.yaml"
"$piugw" directory sign --key "$m/secretariat/secretariat.key" "$m/XA-PIU/etc/directory.yaml" >/dev/null
kill -HUP "${pid[XA-PIU]}"
check "XC back in XA's directory" wait_log XA-PIU "event=reloaded serial=6"

# The last agreement with XC leaves XA's tree: on reload XC's connections go
# (the public socket is rebound); XC, still a member, gets through the
# handshake (it may propose an agreement) and nothing else: NO_AGREEMENT.
mkdir -p "$dir/held"
mv "$m/XA-PIU/etc/agreements/XA-XC.yaml" "$m/XA-PIU/etc/agreements/XA-XC.yaml.sig" "$dir/held/"
kill -HUP "${pid[XA-PIU]}"
check "XC cut off on reload" wait_log XA-PIU "event=member_cut_off member=XC-PIU"
check "open connections cut" wait_log XA-PIU "event=connections_cut"
rg XC-PIU XA-PIU hello
check "XC's Hello now refused: NO_AGREEMENT" grep -q "^ERROR NO_AGREEMENT .*only an AgreementProposal is taken" "$dir/out"
check "XB still served after the rebind" t hello "^HELLO"
check "the agreement's removal is on record" wait_log XA-PIU "agreement removed"
mv "$dir/held/XA-XC.yaml" "$dir/held/XA-XC.yaml.sig" "$m/XA-PIU/etc/agreements/"
kill -HUP "${pid[XA-PIU]}"
check "XA reloads with XC again" wait_log XA-PIU "event=reloaded serial=6 agreements=3" 2

# Retries: XB is down when XA asks; the identical envelope goes out again
# until XB is back within the deadline, and the answer arrives.
check "XB stops" stop XB-PIU
sent=$(grep -c "event=query_sent peer=XB-PIU" "$dir/XA-PIU.log")
ask XA-PIU query --to XB-PIU "${Q[@]}" --document P1234567 --issuer XAA --deadline 30 &
asker=$!
check "XA sent while XB was down" wait_log XA-PIU "event=query_sent peer=XB-PIU" $((sent + 1))
inflight=$(sed -n 's/.*event=query_sent peer=XB-PIU request=\([0-9a-f]*\).*/\1/p' "$dir/XA-PIU.log" | tail -1)
"$piugw" results -c "$(cfg XA-PIU)" "$inflight" >"$dir/inflight.out" 2>&1
check "results while in flight" grep -q "XB-PIU  in flight  request $inflight" "$dir/inflight.out"
check "XB starts again" start XB-PIU
wait "$asker"
check "the retried query is answered" has "XB-PIU  answered"

# A partner down: the others still answer; it is PEER_UNREACHABLE once down
# for limits.unreachable_grace_ms (2 s), not at the query's deadline (30 s
# here: the 20 s bound below would end a fan-out that waited for it).
check "XA measures XC (peers: a Hello round trip)" test "$(ask XA-PIU peers)" -eq 0
check "XC stops" stop XC-PIU
check "  XA says so as news, not as a warning" wait_log XA-PIU "level=info event=peer_disconnected peer=XC-PIU"
fan() { timeout 20 "$piugw" query -c "$(cfg XA-PIU)" --to all "${Q[@]}" --document P1234567 --issuer XAA --deadline 30 "$@"; }
fan >"$dir/out" 2>"$dir/err"
rc=$?
check "fan-out with XC down ends without its deadline (exit $rc)" test "$rc" -eq 1
check "XB still answers" has "XB-PIU  answered"
check "XC unreachable" has "XC-PIU  PEER_UNREACHABLE"
check "  since when and why" has "no connection since .* s ago): disconnected"
check "the summary says who" has "summary: 2 partners, 1 answered (1 hit, 0 no hit), 0 pending, 0 refused, 1 unreachable; hit: XB-PIU; unreachable: XC-PIU"
fan --json --stream >"$dir/lines" 2>"$dir/err"
check "--json --stream: one answer a line" test "$(grep -c '^{"answer":' "$dir/lines")" -eq 2
check "  then the summary, last" sh -c "tail -1 '$dir/lines' | grep -q '^{\"summary\":{\"partners\":2,'"
check "  which says who is unreachable" grep -q '"unreachable":{"count":1,"who":\["XC-PIU"\]}' "$dir/lines"
"$piugw" peers -c "$(cfg XA-PIU)" >"$dir/peers" 2>&1
check "peers marks XC's last figures with their age" grep -E "^XC-PIU .*UNREACHABLE .* ms \([0-9]+ s ago\)" "$dir/peers"

# INTERNAL: XC cannot write its audit log (a file-size limit below the size
# its audit segment has reached stands in for a full disk; SQLite's 32 KiB
# shared-memory file still fits). It must refuse work, not answer
# unaudited, and not die.
# Descriptors: a soft limit below what its partners need is raised (within the hard one).
check "XC back, its soft descriptor limit at 64" start XC-PIU bash -c 'ulimit -Sn 64 && exec "$@"' _
check "  raised to what two partners need (30 + 5 a partner + 256)" grep -qE '^Max open files +296 ' "/proc/${pid[XC-PIU]}/limits"
rg XA-PIU XC-PIU hello --count 800
check "XC's audit grows past 48 KiB" test "$(stat -c %s "$m"/XC-PIU/state/audit/*.seg | sort -n | tail -1)" -gt 49152
check "XC stops" stop XC-PIU
rm -f "$dir/XC-PIU.ready"
mkfifo "$dir/XC-PIU.ready"
(ulimit -f 48; exec "$piugwd" -c "$(cfg XC-PIU)" --ready-fd 3 3>"$dir/XC-PIU.ready") 2> >(cat >>"$dir/XC-PIU.log") &
pid[XC-PIU]=$!
read -r -t 30 line <"$dir/XC-PIU.ready" || line=
check "XC starts with its disk 'full'" test "$line" = "READY=1"
check "INTERNAL, nothing disclosed" t2 XA-PIU XC-PIU query "^ERROR INTERNAL"
check "XC's health says why, 503" test "$(curl -s -o "$dir/health" -w '%{http_code}' "http://127.0.0.1:$((base + 102))/healthz")" = 503
check "the audit is the reason" grep -q "audit log cannot be written" "$dir/health"
check "status says the audit cannot be written" test "$(ask XC-PIU status)" -eq 1
check "with the reason" has "PROBLEM"
before=$(rows XC-PIU)
check "no import that could not be recorded" test "$(ask XC-PIU import --format csv "$dir/travellers.csv")" -eq 2
check "it says why" has "the audit log cannot be written"
check "and that nothing changed" has "nothing was changed"
check "no purge either" test "$(ask XC-PIU store purge --older-than-days 1)" -eq 2
check "nothing changed in XC's store" test "$(rows XC-PIU)" = "$before"
kill -TERM "${pid[XC-PIU]}"; wait "${pid[XC-PIU]}"
check "XC starts again with room" start XC-PIU
check "and serves" t2 XA-PIU XC-PIU hello "^HELLO"
check "XC stops" stop XC-PIU
# The disk fills while XC serves: a little room left (2 KiB past its
# segment), queries until a flush fails. Every query gets its answer while
# the records are written, an Error INTERNAL once they are not: never
# silence, and nothing disclosed unrecorded.
seg=$(ls "$m"/XC-PIU/state/audit/*.seg | tail -1)
room=$(($(stat -c %s "$seg") / 1024 + 2))
rm -f "$dir/XC-PIU.ready"
mkfifo "$dir/XC-PIU.ready"
(ulimit -f "$room"; exec "$piugwd" -c "$(cfg XC-PIU)" --ready-fd 3 3>"$dir/XC-PIU.ready") 2> >(cat >>"$dir/XC-PIU.log") &
pid[XC-PIU]=$!
read -r -t 30 line <"$dir/XC-PIU.ready" || line=
check "XC starts with 2 KiB of room" test "$line" = "READY=1"
: >"$dir/filling"
for _ in $(seq 1 40); do
	rg XA-PIU XC-PIU query
	head -1 "$dir/out" >>"$dir/filling"
	grep -q "^ERROR INTERNAL" "$dir/out" && break
done
check "answers while there is room" grep -q "^RESULT" "$dir/filling"
check "then INTERNAL when the flush fails" grep -q "^ERROR INTERNAL" "$dir/filling"
check "and no query without a reply ($(sort "$dir/filling" | uniq -c | tr '\n' ' '))" \
	test -z "$(grep -vE '^(RESULT|ERROR INTERNAL)' "$dir/filling")"
kill -TERM "${pid[XC-PIU]}"; wait "${pid[XC-PIU]}"

# --- a partner's answers that break the protocol or the agreement -----------------
# XC stopped, the rogue binds XC's endpoint with XC's keys and answers XA's
# next query badly (PROTOCOL.md section 11: the asker checks every answer).
serve_as_xc() { # serve_as_xc MODE
	# It serves until it is stopped (30 s at the most), so that no answer is
	# lost to its going away.
	"$rogue" -c "$(cfg XC-PIU)" --to XA-PIU "$1" --count 1000 >"$dir/$1.out" 2>&1 &
	srv=$!
	for _ in $(seq 1 200); do grep -q LISTENING "$dir/$1.out" 2>/dev/null && break; sleep 0.05; done
}
serve_end() { kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; }
xq() { ask XA-PIU query --to XC-PIU "${Q[@]}" --document P1234567 --issuer XAA --deadline 10; }
serve_as_xc serve-hello-reply
check "a HelloReply to a Query: exit 1, not 0 after the deadline" test "$(xq)" -eq 1
check "the analyst sees BAD_ANSWER" has "XC-PIU  BAD_ANSWER"
check "and why" has "answered with a HelloReply"
serve_end
serve_as_xc serve-over-disclose
check "an over-disclosing HIT: exit 1" test "$(xq)" -eq 1
check "  BAD_ANSWER" has "XC-PIU  BAD_ANSWER"
check "  naming the excess" has "over-disclosed: pnr.booking,pnr.payment"
check "  none of it shown" sh -c "! grep -q -e ABC123 -e 4111 -e DOE '$dir/out'"
serve_end
check "XA's audit says what arrived" test "$(ask XA-PIU audit show --peer XC-PIU --event result_received --json)" -eq 0
check "  every category that came, not the declared ones" has '"categories": "api.identity,pnr.booking,pnr.payment"'
check "  refused here" has "answer was refused here: the partner over-disclosed"
check "a metric counts the bad answers" sh -c "curl -s http://127.0.0.1:$((base + 100))/metrics | grep -q '^piugw_bad_answers_total{peer=\"XC-PIU\"} 2'"
serve_as_xc serve-other-agreement
check "an answer under another agreement hash: exit 1" test "$(xq)" -eq 1
check "  saying so" has "with another hash"
serve_end
serve_as_xc serve-stale
check "a stale answer: exit 1" test "$(xq)" -eq 1
check "  STALE, and decided here, not by XC" has "XC-PIU  refused here, by this gateway"
serve_end
serve_as_xc serve-escapes
check "a partner's text with escapes: refused (exit 1)" test "$(xq)" -eq 1
check "  no raw escape or forged line reaches the terminal" sh -c "! grep -q \"\$(printf '\\033')\" '$dir/out' && ! grep -q '^XA-PIU  answered FAKE' '$dir/out'"
check "  shown escaped" grep -q 'CASE-\\x1B\[31mRED\\x1B\[0m\\x0AXA-PIU  answered FAKE' "$dir/out"
serve_end
check "XA's audit says who decided" test "$(ask XA-PIU audit show --peer XC-PIU --refusal STALE --json)" -eq 0
check "  this gateway" has "refused here, by this gateway"
# XC stopped: the command takes the log itself, and refuses when it cannot.
mv "$m/XC-PIU/state/audit" "$m/XC-PIU/state/audit.away"
: >"$m/XC-PIU/state/audit"
check "no import without the audit log" test "$(ask XC-PIU import --format csv "$dir/travellers.csv")" -eq 2
check "which it says" has "could not be opened; nothing was changed"
rm "$m/XC-PIU/state/audit"
mv "$m/XC-PIU/state/audit.away" "$m/XC-PIU/state/audit"
check "nothing imported into XC" test "$(rows XC-PIU)" = "$before"
check "a purge with XC stopped" test "$(ask XC-PIU store purge --older-than-days 36500)" -eq 0
check "is on XC's record" test "$(ask XC-PIU audit show --event purged --json)" -eq 0
check "begun and done" has '"count": 2'

# XC rotates its keys: the secretariat signs a directory with its new ones,
# and XA puts the change on record when it loads it.
"$piugw" keygen --id XC-PIU --out "$dir/xc-new" >/dev/null
key() { sed -n "s/^ *$2 = \"\(.*\)\"$/\1/p" "$1"; }
d2=$(<"$m/secretariat/directory.yaml")
d2=${d2/serial: 1/serial: 7}
for k in public-key sign-public-key; do # Z85 keys: replaced as plain strings
	d2=${d2//"$(key "$m/XC-PIU/etc/certs/XC-PIU.cert" $k)"/"$(key "$dir/xc-new/XC-PIU.cert" $k)"}
done
printf '%s\n' "$d2" >"$m/XA-PIU/etc/directory.yaml"
"$piugw" directory sign --key "$m/secretariat/secretariat.key" "$m/XA-PIU/etc/directory.yaml" >/dev/null
kill -HUP "${pid[XA-PIU]}"
check "XA loads directory serial 7" wait_log XA-PIU "event=reloaded serial=7"
check "and records XC's new keys" wait_log XA-PIU "event=key_changed peer=XC-PIU"
check "only XC's" test "$(grep -c "event=key_changed.*keys changed" "$dir/XA-PIU.log")" -eq 1

# --- approvers: only their groups see and decide held requests -----------------------
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	# nobody becomes one of XA's operators: it may reach the socket, whose group is its own.
	sock=$m/XA-PIU/run/api.sock
	chmod o+x "$dir" "$m" "$m/XA-PIU" "$m/XA-PIU/run"
	chgrp nogroup "$sock"
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$piugw" "$@" --api "ipc://$sock" >"$dir/out" 2>"$dir/err"; echo $?; }
	xa_reload() {
		local n
		n=$(grep -c "event=reloaded" "$dir/XA-PIU.log")
		kill -HUP "${pid[XA-PIU]}"
		wait_log XA-PIU "event=reloaded" $((n + 1))
	}
	check "an operator sees held requests when no approvers are set" test "$(as_nobody pending)" -eq 0
	cp "$(cfg XA-PIU)" "$dir/xa.yaml"
	echo "approvers: [root]" >>"$(cfg XA-PIU)"
	check "XA reloads with approvers" xa_reload
	check "an operator who is not one: refused" test "$(as_nobody pending)" -eq 1
	check "and told why" has "nobody is not in a group of approvers"
	check "no decision either" test "$(as_nobody deny AP-0000 --reason x)" -eq 1
	check "for the same reason" has "not in a group of approvers"
	check "XA's log names who was refused" wait_log XA-PIU "event=approval_refused operator=nobody"
	check "root still may" test "$(ask XA-PIU pending)" -eq 0
	cp "$dir/xa.yaml" "$(cfg XA-PIU)"
	echo "approvers: [nogroup]" >>"$(cfg XA-PIU)"
	check "XA reloads with nobody's group as approvers" xa_reload
	check "a member of an approvers' group may" test "$(as_nobody pending)" -eq 0
	cp "$dir/xa.yaml" "$(cfg XA-PIU)"
	check "XA reloads as it was" xa_reload
	chgrp "$(id -g)" "$sock"
	chmod o-x "$dir" "$m" "$m/XA-PIU" "$m/XA-PIU/state"
fi

# --- kept answers are deleted answers_keep_days on --------------------------------
# XB keeps the final answers of its two polls (approval above), XA the two
# requests it decided. Two days on, with a one-day limit, they go, on record.
ft=$(faketime_preload)
check "libfaketime is there" test -n "$ft"
for id in XA-PIU XB-PIU; do
	check "$id stops" stop $id
	sed -i 's/^limits:$/limits:\n  answers_keep_days: 1/' "$(cfg $id)"
	check "$id starts two days on" start $id env LD_PRELOAD="$ft" FAKETIME=+2d
done
check "XB deletes the answers it kept" wait_log XB-PIU "event=kept_answers_deleted results=2 decided=0 days=1"
check "XA deletes the decided requests" wait_log XA-PIU "event=kept_answers_deleted results=[0-9]* decided=2 days=1"
check "nothing left to collect" test "$(ask XB-PIU results "$req")" -eq 1
check "and the gateway says why it may be" has "answers_keep_days (1)"
check "XB's audit has the erasure" test "$(ask XB-PIU audit show --event purged --json)" -eq 0
check "with what went" has "answers kept to be collected, older than 1 days: 2 received, 0 decided approvals"

# --- audit and personal data ---------------------------------------------------
check "XA stops" stop XA-PIU
check "XB stops" stop XB-PIU
for id in XA-PIU XB-PIU XC-PIU; do
	check "$id audit verifies" test "$(run audit verify -c "$(cfg "$id")")" -eq 0
done
check "XB's audit has the refusals" test "$(run audit show -c "$(cfg XA-PIU)" --refusal RATE_LIMITED --json)" -eq 0
check "XA's audit: who asked about the document" test "$(run audit subject -c "$(cfg XA-PIU)" --document P1234567 --issuer XAA --json)" -eq 0
check "approvals in the subject's history" has "approved"
check "XA's audit: the agreement with XC" test "$(run audit show -c "$(cfg XA-PIU)" --event "agreement changed" --agreement XA-XC-2026-002 --json)" -eq 0
for what in "agreement suspended here" "agreement resumed here" "agreement removed" "agreement added"; do
	check "$what" has "\"detail\": \"$what\""
done
# (long enough not to turn up by chance in binary audit frames or Z85 keys)
for pii in P1234567 C7654321 M1111111 john.doe@example Иванова IVANOVA Svetlana Müller 1980-01-02 1985-03-04 "7946 0958" 79460958; do
	check "no '$pii' in logs or audit" test -z "$(grep -rl -- "$pii" "$dir"/*.log "$m"/*/state/audit 2>/dev/null)"
done
warnings
finish
