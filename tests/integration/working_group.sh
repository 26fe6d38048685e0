#!/usr/bin/env bash
# A working group of eight (issue 24) on 127.0.0.1: a mesh made with piugw's
# own commands only (mkmesh --members 8: keygen, directory add and sign,
# agreement new and sign, config new), every gateway with an agreement with
# every other; a fan-out to all seven partners, then with two of them
# killed: the five answers and the two PEER_UNREACHABLE come without waiting
# for the query's deadline, with the summary; then an agreement proposed by
# one member and accepted at the other, and an amendment declined (item 3).
# Synchronised on events, never on sleeps; the fan-out's bound (timeout 15 s,
# deadline 30 s) only ends a gateway that waited for the dead.
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

# Agreements proposed and co-signed over the mesh. XA and XB drop theirs;
# XA proposes a new one made from the template; nothing is installed until
# a person at XB reads it term by term and accepts it; then both hold it,
# signed by both, and XA's query is answered under it at once. An amendment
# is declined with a reason, which XA learns; a proposal that names a third
# party, or whose signature is not the sender's, is refused.
mkdir -p "$dir/held"
mv "$m/XA-PIU/etc/agreements/XA-XB.yaml" "$m/XA-PIU/etc/agreements/XA-XB.yaml.sig" "$dir/held/"
rm "$m/XB-PIU/etc/agreements/XA-XB.yaml" "$m/XB-PIU/etc/agreements/XA-XB.yaml.sig"
kill -HUP "${pid[XA-PIU]}" "${pid[XB-PIU]}"
check "XA and XB drop their agreement" wait_log XA-PIU "agreement=XA-XB-2026-001 what=\"agreement removed\""
check "  XB too" wait_log XB-PIU "agreement=XA-XB-2026-001 what=\"agreement removed\""
q1() { ask XA-PIU query --to XB-PIU "${Q[@]}" --document P1234567 --issuer XAA; }
check "XA may not ask XB any more" test "$(q1)" -ne 0
check "  no agreement" has "not a partner of this gateway"
ask XA-PIU agreement new --template "$dir/held/XA-XB.yaml" --party XA-PIU --party XB-PIU \
	--id XA-XB-2027 --from 2026-01-01 --until 2030-12-31 --out "$dir/new.yaml" >/dev/null
check "XA proposes XA-XB-2027" test "$(ask XA-PIU agreement propose "$dir/new.yaml")" -eq 0
check "  XB holds it for a person" has "held for a decision"
check "  a new agreement" has "a new agreement"
check "XB lists it, with its terms" test "$(ask XB-PIU agreement incoming)" -eq 0
check "  from XA" has "from XA-PIU"
check "  every term against none" has "XA-PIU -> XB-PIU       max_results      0  |  10"
ref=$(ask XB-PIU agreement incoming --json >/dev/null; grep -o '"reference": "AG-[0-9A-F]*"' "$dir/out" | head -1 | cut -d'"' -f4)
check "  under a reference ($ref)" test -n "$ref"
check "  and piugw status says one waits" test "$(ask XB-PIU status)" -eq 0
check "  proposals   1 agreement(s) proposed to us" has "proposals   1 agreement(s) proposed to us"
check "nothing installed before a person decides" \
	test ! -e "$m/XA-PIU/etc/agreements/XA-XB-2027.yaml" -a ! -e "$m/XB-PIU/etc/agreements/XA-XB-2027.yaml"
check "XB's administrator accepts it" test "$(ask XB-PIU agreement accept "$ref")" -eq 0
check "  installed at XB" has "installed at $m/XB-PIU/etc/agreements/XA-XB-2027.yaml"
check "XA installs it too, without anyone asking" wait_log XA-PIU "event=agreement_installed agreement=XA-XB-2027"
check "  and has it in force" wait_log XA-PIU "agreement=XA-XB-2027 what=\"agreement added\""
check "the two copies are the same bytes, with the same signatures" \
	sh -c "cmp '$m/XA-PIU/etc/agreements/XA-XB-2027.yaml' '$m/XB-PIU/etc/agreements/XA-XB-2027.yaml' &&
	       cmp '$m/XA-PIU/etc/agreements/XA-XB-2027.yaml.sig' '$m/XB-PIU/etc/agreements/XA-XB-2027.yaml.sig'"
check "  signed by both, in force" test "$(ask XA-PIU agreement check "$m/XA-PIU/etc/agreements/XA-XB-2027.yaml")" -eq 0
check "XA asks XB under it right after" test "$(q1)" -eq 0
check "  answered under XA-XB-2027" has "answered  request [0-9a-f]*  agreement XA-XB-2027"

sed 's/max_results: 10/max_results: 20/' "$m/XA-PIU/etc/agreements/XA-XB-2027.yaml" >"$dir/amend.yaml"
fp=$(ask XA-PIU agreement check --json "$m/XA-PIU/etc/agreements/XA-XB-2027.yaml" >/dev/null; grep -o '"fingerprint": "[0-9a-f]*"' "$dir/out" | cut -d'"' -f4)
check "XA proposes an amendment" test "$(ask XA-PIU agreement propose "$dir/amend.yaml")" -eq 0
check "  of the agreement in force (${fp:0:16}...)" has "an amendment of $fp"
check "XB sees what it changes, term by term" test "$(ask XB-PIU agreement incoming)" -eq 0
check "  max_results 10 to 20, each way" test "$(grep -c 'max_results      10  |  20' "$dir/out")" -eq 2
ref=$(ask XB-PIU agreement incoming --json >/dev/null; grep -o '"reference": "AG-[0-9A-F]*"' "$dir/out" | head -1 | cut -d'"' -f4)
check "XB declines it, with a reason" test "$(ask XB-PIU agreement decline "$ref" --reason "twenty is too many for us")" -eq 0
check "XA learns it" wait_log XA-PIU "event=agreement_proposal .* state=4 detail=\"twenty is too many for us\""
check "  and shows the reason" test "$(ask XA-PIU agreement outgoing)" -eq 0
check "  reason: twenty is too many for us" has "reason: twenty is too many for us"
check "the agreement in force is untouched" grep -q "max_results: 10" "$m/XB-PIU/etc/agreements/XA-XB-2027.yaml"
check "a decline needs a reason" test "$(ask XB-PIU agreement decline "$ref")" -eq 2

# XA proposes to XC an agreement between XA and XB: refused, as is a signature not XA's.
check "a proposal naming a third party is refused" t2 XA-PIU XC-PIU propose "^ERROR MALFORMED the agreement's parties are XA-PIU and XB-PIU" --load "$dir/amend.yaml"
sed -e 's/XB-PIU/XC-PIU/g' -e 's/XA-XB-2027/XA-XC-2027/' "$dir/new.yaml" >"$dir/xc.yaml"
check "a signature not the sender's is refused" t2 XA-PIU XC-PIU propose-bad-signature "^ERROR BAD_SIGNATURE" --load "$dir/xc.yaml"
check "a proposal between XA and XC is held" t2 XA-PIU XC-PIU propose "^PROPOSAL 1 AG-" --load "$dir/xc.yaml"
check "  and the same again gets the same reference" sh -c "ref=\$(grep -o 'AG-[0-9A-F]*' '$dir/out'); '$rogue' -c '$(cfg XA-PIU)' --to XC-PIU propose --load '$dir/xc.yaml' | grep -q \"^PROPOSAL 1 \$ref\""
# An agreement under the id of one XC holds is an amendment of it: without
# the hash it replaces, AGREEMENT_MISMATCH with XC's hash; the very same
# file, nothing to propose.
sed 's/max_results: 10/max_results: 11/' "$m/XA-PIU/etc/agreements/XA-XC.yaml" >"$dir/xc-amend.yaml"
check "an amendment that does not name what it replaces: AGREEMENT_MISMATCH with XC's hash" \
	t2 XA-PIU XC-PIU propose "^ERROR AGREEMENT_MISMATCH [0-9a-f]\{64\}$" --load "$dir/xc-amend.yaml"
check "the agreement XC holds already: MALFORMED" \
	t2 XA-PIU XC-PIU propose "^ERROR MALFORMED XC-PIU already holds this very agreement" --load "$m/XA-PIU/etc/agreements/XA-XC.yaml"
# XC takes ten proposals a day from one member (limits.proposals_per_day); XA sent one.
n=0
for i in 1 2 3 4 5 6 7 8 9; do
	sed "s/XA-XC-2027/XA-XC-R$i/" "$dir/xc.yaml" >"$dir/r$i.yaml"
	rg XA-PIU XC-PIU propose --load "$dir/r$i.yaml"
	grep -q "^PROPOSAL 1 AG-" "$dir/out" && n=$((n + 1))
done
check "ten proposals from one member in a day are held" test "$n" -eq 9
sed "s/XA-XC-2027/XA-XC-R10/" "$dir/xc.yaml" >"$dir/r10.yaml"
check "  the eleventh is refused: RATE_LIMITED" t2 XA-PIU XC-PIU propose "^ERROR RATE_LIMITED 10 proposals from XA-PIU in the last 24 hours" --load "$dir/r10.yaml"
# An acceptance that cannot be installed at the proposer is said, not
# hidden, and installed by proposing the file again once mended. XA's
# daemon proposes the file the rogue proposed (the same bytes: XC answers
# where it stands); where XA must write its .sig stands a folder.
first=$(rg XA-PIU XC-PIU propose --load "$dir/xc.yaml"; grep -o 'AG-[0-9A-F]*' "$dir/out")
check "XA proposes the agreement XC holds for it already" test "$(ask XA-PIU agreement propose "$dir/xc.yaml")" -eq 0
check "  held there under the first reference ($first)" has "their reference $first"
mkdir "$m/XA-PIU/etc/agreements/XA-XC-2027.yaml.sig"
ref=$(ask XC-PIU agreement incoming --json >/dev/null; grep -B3 '"agreement_id": "XA-XC-2027"' "$dir/out" | grep -o 'AG-[0-9A-F]*' | head -1)
check "XC accepts it" test "$(ask XC-PIU agreement accept "$ref")" -eq 0
check "XA cannot install it, and says so" wait_log XA-PIU "event=agreement_not_installed .* agreement=XA-XC-2027"
check "  outgoing shows it accepted, NOT installed" test "$(ask XA-PIU agreement outgoing)" -eq 0
check "  with why" has "accepted, NOT installed"
rmdir "$m/XA-PIU/etc/agreements/XA-XC-2027.yaml.sig"
check "proposed again once mended: installed" test "$(ask XA-PIU agreement propose "$dir/xc.yaml")" -eq 0
check "  in force at XA" wait_log XA-PIU "agreement=XA-XC-2027 what=\"agreement added\""
check "both sides have every step on record" sh -c "'$piugw' audit show -c '$(cfg XA-PIU)' --event agreement_decided | grep -c XA-XB-2027 | grep -qx 2 &&
	'$piugw' audit show -c '$(cfg XB-PIU)' --event agreement_decided | grep -c XA-XB-2027 | grep -qx 2"

for id in $ids; do
	case $id in XG-PIU | XH-PIU) continue ;; esac
	check "$id stops" stop "$id"
done
for id in XA-PIU XB-PIU; do
	check "$id's audit log verifies" test "$(ask $id audit verify)" -eq 0
done
warnings
finish
