#!/usr/bin/env bash
# Lawful unmasking (issue 21, item 1) over three real gateways: XA's answer
# from XB about a traveller transferred 300 days ago comes masked (Art
# 12(2)); XA asks for it again under a prior authorisation (Art 12(3)).
# Refused: under an agreement whose terms forbid it (XA-XC), by a user who
# is no authoriser, by the analyst who asked; refused by an authoriser with
# a reason; approved by an authoriser, who records the authority's decision:
# then XA collects the unmasked record. Both audit logs record the request,
# the references, the decision, who recorded it and what was disclosed.
# Synchronised on the gateways' answers; the one wait (results --wait) is
# bounded.
# Usage: unmask.sh PIUGW PIUGWD ROGUE
set -u
piugw=$1 piugwd=$2 rogue=$3
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
base=${PIUGW_TEST_PORT:-30901}
. "$(dirname "$0")/meshlib.sh"

for id in XA-PIU XB-PIU XC-PIU; do check "$id starts" start "$id"; done
Q=(--purpose terrorism --case CASE-12 --reason "a known associate of a suspect")
U=(--purpose terrorism --case CASE-12 --authorisation JUD-2026-0042
	--authority "Investigating judge, XA city court" --reason "necessary to identify the associate")
req() { sed -n 's/.*  request \([0-9a-f]\{32\}\).*/\1/p' "$dir/out" | head -1; }

# A traveller transferred 300 days ago: XB answers masked.
check "XA asks XB about the traveller of 300 days ago" test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --document M1111111 --issuer XBB)" -eq 0
check "  masked" has "MASKED"
check "  her name is not disclosed" test "$(grep -c 'Müller' "$dir/out")" -eq 0
r1=$(req)
check "XA asks XC too (mask_after_days 30)" test "$(ask XA-PIU query --to XC-PIU "${Q[@]}" --document M1111111 --issuer XBB)" -eq 0
check "  masked" has "MASKED"
r2=$(req)

check "XA-XC forbids unmasking: stopped here" test "$(ask XA-PIU unmask "$r2" --match 1 "${U[@]}")" -eq 1
check "  UNMASKING_NOT_ALLOWED" has "UNMASKING_NOT_ALLOWED"
check "a match that came unmasked cannot be asked for" test "$(ask XA-PIU unmask "$r1" --match 2 "${U[@]}")" -eq 1
check "  saying so" has "no masked match 2 of request"
check "an unmasking needs the authorisation" test "$(ask XA-PIU unmask "$r1" --match 1 --purpose terrorism --reason x)" -eq 2

check "XA asks XB to unmask it, under the authorisation" test "$(ask XA-PIU unmask "$r1" --match 1 "${U[@]}")" -eq 0
check "  held at XB for an authoriser" has "waiting for approval"
u1=$(req)
um1=$(sed -n 's/.*approval reference \(UM-[0-9A-F]*\).*/\1/p' "$dir/out" | head -1)
check "XB's pending shows it, with the authorisation" test "$(ask XB-PIU pending)" -eq 0
check "  as an unmasking" has "$um1  UNMASKING for XA-PIU"
check "  the authorisation and who asked" has "authorisation JUD-2026-0042 by Investigating judge, XA city court"
check "no authorisers configured: nobody may decide, root neither" test "$(ask XB-PIU approve "$um1" --authorisation DEC-1)" -eq 1
check "  told why" has "root is not in a group of authorisers"

# Authorisers: root's group and nobody's.
sock=$m/XB-PIU/run/api.sock
cp "$(cfg XB-PIU)" "$dir/xb.yaml"
echo "authorisers: [root, nogroup]" >>"$(cfg XB-PIU)"
n=$(grep -c "event=reloaded" "$dir/XB-PIU.log")
kill -HUP "${pid[XB-PIU]}"
check "XB reloads with authorisers" wait_log XB-PIU "event=reloaded" $((n + 1))
check "the analyst who asked (root) cannot authorise it" test "$(ask XB-PIU approve "$um1" --authorisation DEC-1)" -eq 1
check "  told why" has "root asked for this unmasking and cannot also authorise it"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	chmod o+x "$dir" "$m" "$m/XB-PIU" "$m/XB-PIU/run"
	chgrp nogroup "$sock"
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$piugw" "$@" --api "ipc://$sock" >"$dir/out" 2>"$dir/err"; echo $?; }
	check "an authoriser must record the decision" test "$(as_nobody approve "$um1")" -eq 1
	check "  told so" has "--authorisation REF"
	check "an authoriser approves, recording the decision" test "$(as_nobody approve "$um1" --authorisation DEC-XB-7)" -eq 0
	check "XA collects the unmasked record" test "$(ask XA-PIU results "$u1" --wait 30)" -eq 0
	check "  a hit" has "hit: 1 match"
	check "  unmasked" test "$(grep -c MASKED "$dir/out")" -eq 0
	check "  her name and date of birth" has "surname=Müller given_names=Anna date_of_birth=1970-07-07"
	check "  only the categories the terms allow (no travel)" test "$(grep -c api_travel "$dir/out")" -eq 0
	# A second request, refused by an authoriser with a reason.
	check "XA asks again" test "$(ask XA-PIU unmask "$r1" --match 1 "${U[@]}")" -eq 0
	u2=$(req)
	um2=$(sed -n 's/.*approval reference \(UM-[0-9A-F]*\).*/\1/p' "$dir/out" | head -1)
	check "an authoriser refuses it" test "$(as_nobody deny "$um2" --reason "the authorisation names another case")" -eq 0
	check "XA is told" test "$(ask XA-PIU results "$u2" --wait 30)" -eq 0
	check "  denied, with the reason" has "denied: the authorisation names another case"
	chgrp "$(id -g)" "$sock"
	chmod o-x "$dir" "$m" "$m/XB-PIU" "$m/XB-PIU/run"
else
	echo "  (not root, or no setpriv: the approval by another user is not run)"
fi
cp "$dir/xb.yaml" "$(cfg XB-PIU)"

# --- both audit logs ------------------------------------------------------------
for id in XA-PIU XB-PIU XC-PIU; do check "$id stops" stop "$id"; done
for id in XA-PIU XB-PIU XC-PIU; do
	check "$id audit verifies" test "$(run audit verify -c "$(cfg "$id")")" -eq 0
done
check "XB: the request, held" test "$(run audit show -c "$(cfg XB-PIU)" --event "unmask requested" --json)" -eq 0
check "  with the authorisation and who asked" has "authorisation JUD-2026-0042 (Investigating judge, XA city court), requested by root"
check "XB: the decisions" test "$(run audit show -c "$(cfg XB-PIU)" --event "unmask decided" --json)" -eq 0
check "  approved, the decision recorded, by whom" has "approved: authorisation JUD-2026-0042 (Investigating judge, XA city court); decision checked: DEC-XB-7"
check "  by nobody" has '"operator": "nobody"'
check "  refused" has "refused: authorisation JUD-2026-0042"
check "XB's subject history of her shows the unmasking" test "$(run audit subject -c "$(cfg XB-PIU)" --document M1111111 --issuer XBB)" -eq 0
check "  requested" has "unmask requested"
check "  decided" has "unmask decided"
check "XA: the requests and the stop" test "$(run audit show -c "$(cfg XA-PIU)" --event "unmask requested" --json)" -eq 0
check "  sent under the authorisation" has "authorisation JUD-2026-0042"
check "  stopped here under XA-XC" has "stopped here: match 1"
check "XA's subject history has the unmasked record received" test "$(run audit subject -c "$(cfg XA-PIU)" --document M1111111 --issuer XBB)" -eq 0
check "  received" has "result received"
check "XB's oversight report lists the unmasking" test "$(run audit report -c "$(cfg XB-PIU)" --from "$(date -u +%F)" --format json --out "$dir/r.json")" -eq 0
check "  approved 1, refused 1, its authorisation" test "$(jq -c '.partners[] | select(.partner == "XA-PIU") | .unmasking | [.approved, .refused, .authorisations[0]]' "$dir/r.json")" = '[1,1,"JUD-2026-0042"]'
for pii in M1111111 MUELLER Müller 1970-07-07; do
	check "no '$pii' in logs, audit or report" test -z "$(grep -rl -- "$pii" "$dir"/*.log "$m"/*/state/audit "$dir/r.json" 2>/dev/null)"
done
warnings
finish
