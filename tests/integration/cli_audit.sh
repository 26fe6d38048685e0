#!/usr/bin/env bash
# piugw audit on a real gateway tree (made by mkmesh) whose log audit_fill
# wrote through the library: verify, show with filters, subject, export of a
# verifiable bundle, purge, and a tampered log named.
# Usage: cli_audit.sh PATH-TO-piugw PATH-TO-audit_fill
set -u
piugw=$1 fill=$2
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"

m="$dir/mesh"
PIUGW=$piugw "$top/deploy/examples/mkmesh" --base-port 28401 "$m" >/dev/null 2>&1 || { echo "mkmesh failed"; exit 1; }
C="$m/XA-PIU/etc/piugwd.yaml"
"$fill" "$m/XA-PIU/state" "$m/XA-PIU/keys/XA-PIU.cert_secret" "$m/XA-PIU/keys/audit.key" || { echo "audit_fill failed"; exit 1; }

check "verify: intact" test "$(run audit verify -c "$C")" -eq 0
check "verify says intact" has "intact"
check "verify --json" test "$(run audit verify -c "$C" --json)" -eq 0
check "verify --json intact" has '"intact": true'
check "no document number in the log" test -z "$(grep -rl P1234567 "$m/XA-PIU/state/audit")"
check "no name in the log" test -z "$(grep -rl MUELLER "$m/XA-PIU/state/audit")"

check "show" test "$(run audit show -c "$C")" -eq 0
check "show lists the refusal" has "PURPOSE_NOT_ALLOWED"
check "show --refusal" test "$(run audit show -c "$C" --refusal PURPOSE_NOT_ALLOWED --json)" -eq 0
check "one refusal" has '"count": 1'
check "show --peer --event" test "$(run audit show -c "$C" --peer XB-PIU --event answered --json)" -eq 0
check "one answer to XB" has '"count": 1'
check "answer lists categories" has '"categories": "api.identity,api.document"'
check "show --case" test "$(run audit show -c "$C" --case XA-CASE-9)" -eq 0
check "the operator is shown" has "by analyst1"
check "show --since tomorrow: nothing" test "$(run audit show -c "$C" --since "$(date -u -d tomorrow +%F)" --json)" -eq 0
check "nothing since tomorrow" has '"count": 0'
check "unknown event is misuse" test "$(run audit show -c "$C" --event frobbed)" -eq 2

check "subject by document" test "$(run audit subject -c "$C" --document P1234567 --issuer XBA --json)" -eq 0
check "two events about the document" has '"count": 2'
check "subject, written differently" test "$(run audit subject -c "$C" --document 'p 123 4567' --issuer xba --json)" -eq 0
check "same two events" has '"count": 2'
check "subject by name" test "$(run audit subject -c "$C" --name Mueller --given Anna --dob 1985-04-12 --json)" -eq 0
check "one event about the name" has '"count": 1'
check "another person: none" test "$(run audit subject -c "$C" --document P7654321 --issuer XBA --json)" -eq 0
check "none about another person" has '"count": 0'
check "subject needs criteria" test "$(run audit subject -c "$C")" -eq 2

check "export" test "$(run audit export -c "$C" --out "$dir/bundle")" -eq 0
check "bundle has a manifest" test -f "$dir/bundle/MANIFEST"
check "bundle verifies on its own" test "$(run audit verify --dir "$dir/bundle" --cert "$dir/bundle/XA-PIU.cert")" -eq 0
# The key files kept apart (keys/), the public certificate is found in etc/certs:
# a bundle for an oversight body never carries a secret key.
check "  and carries no secret key" test -z "$(grep -l 'secret-key' "$dir/bundle"/*)"
check "a secret certificate is refused for a bundle" test "$(run audit export -c "$C" --cert "$m/XA-PIU/keys/XA-PIU.cert_secret" --out "$dir/bundle2")" -ne 0
check "  saying which one to give" has "is a secret certificate: a bundle carries the public one only"
check "export into an existing folder refused" test "$(run audit export -c "$C" --out "$dir/bundle")" -ne 0

check "purge keeps fresh records" test "$(run audit purge -c "$C" --older-than-days 1)" -eq 0
check "purge removed nothing" has "removed 0 segments"
check "still intact after purge" test "$(run audit verify -c "$C")" -eq 0

# The oversight report (issue 21): figures from the log, no personal data.
today=$(date -u +%F)
check "report (json)" test "$(run audit report -c "$C" --from "$today" --format json --out "$dir/r.json")" -eq 0
check "  covers the whole log" has "r.json: the json report of records 1 to"
check "  a query from XB answered, one record disclosed" test "$(jq -c '.partners[] | select(.partner == "XB-PIU") | [.queries_received.total, .queries_received.outcomes.hit, .queries_received.records_disclosed, .queries_received.records_by_category["api.document"]]' "$dir/r.json")" = "[1,1,1,1]"
check "  a query to XC" test "$(jq '.partners[] | select(.partner == "XC-PIU") | .queries_sent.total' "$dir/r.json")" -eq 1
check "  the refusal by code" test "$(jq '.totals.other_refusals.PURPOSE_NOT_ALLOWED' "$dir/r.json")" -eq 1
check "  the import" test "$(jq '.store.imports.records' "$dir/r.json")" -eq 120
check "  the chain hash of its last record" test "$(jq -r '.log.head_hash | length' "$dir/r.json")" -eq 64
check "report (csv)" test "$(run audit report -c "$C" --from "$today" --format csv --out "$dir/r.csv")" -eq 0
check "  the same figures" grep -q '^store,,imports.records,120$' "$dir/r.csv"
check "report (html)" test "$(run audit report -c "$C" --from "$today" --out "$dir/r.html")" -eq 0
check "  with its charts" test "$(grep -c '<svg' "$dir/r.html")" -eq 3
for pii in XB-CASE XA-CASE analyst1 "paxlst:"; do
	check "  no '$pii' in any report" test -z "$(grep -l -- "$pii" "$dir"/r.json "$dir"/r.csv "$dir"/r.html)"
done
check "report: --from is needed" test "$(run audit report -c "$C")" -eq 2

seg=$(ls "$m/XA-PIU/state/audit"/audit-*.seg | head -1)
sed -i 's/XB-CASE-7/XB-CASE-8/' "$seg"
check "tampered: exit 1" test "$(run audit verify -c "$C")" -eq 1
check "tampered: named" has "BROKEN at record"
check "tampered: no report" test "$(run audit report -c "$C" --from "$today" --out "$dir/r2.html")" -eq 1
check "  naming the break" has "BROKEN at record"
check "  and none written" test ! -e "$dir/r2.html"
check "audit --help" test "$(run audit --help)" -eq 0

finish
