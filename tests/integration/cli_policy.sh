#!/usr/bin/env bash
# The administrator's policy commands on a real example mesh made by
# deploy/examples/mkmesh: check, sign, diff, suspend/resume, directory
# sign/verify, policy check, and the refusals and exit codes of each.
# Usage: cli_policy.sh PATH-TO-piugw
set -u
piugw=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"

m="$dir/mesh"
PIUGW=$piugw "$top/deploy/examples/mkmesh" --base-port 27401 "$m" >"$dir/mk" 2>&1; rc=$?
check "mkmesh builds the mesh" test "$rc" -eq 0
PIUGW=$piugw "$top/deploy/examples/mkmesh" --base-port 27401 "$m" >/dev/null 2>&1; rc=$?
check "mkmesh refuses an existing folder" test "$rc" -eq 2
check "no secret key is readable by others" test -z "$(find "$m" -name '*.cert_secret' -perm /077)"

A=$m/XA-PIU/etc B=$m/XB-PIU/etc
for g in XC-PIU XB-PIU XA-PIU; do
	check "policy check $g" test "$(run policy check "$m/$g/etc")" -eq 0
done
check "policy check lists agreements in force" grep -q "XA-XB-2026-001 *with XB-PIU *in force" "$dir/out"
check "policy check --json ok" test "$(run policy check --json -c "$A/piugwd.yaml")" -eq 0
check "--json says ok" grep -q '"ok": true' "$dir/out"

# agreement check / sign
check "agreement check in force" test "$(run agreement check -c "$A/piugwd.yaml" "$A/agreements/XA-XB.yaml")" -eq 0
cp "$A/agreements/XA-XB.yaml.sig" "$dir/sig.bak"
grep -v '^XB-PIU ' "$dir/sig.bak" >"$A/agreements/XA-XB.yaml.sig"
check "missing signature: exit 1" test "$(run agreement check -c "$A/piugwd.yaml" "$A/agreements/XA-XB.yaml")" -eq 1
check "missing signature named" has "XB-PIU       missing"
check "XB signs (exit 0)" test "$(run agreement sign --cert-secret "$m/XB-PIU/keys/XB-PIU.cert_secret" "$A/agreements/XA-XB.yaml")" -eq 0
check "in force again" test "$(run agreement check -c "$A/piugwd.yaml" "$A/agreements/XA-XB.yaml")" -eq 0
check "sign by a non-party refused" test "$(run agreement sign --cert-secret "$m/XC-PIU/keys/XC-PIU.cert_secret" "$A/agreements/XA-XB.yaml")" -eq 1
check "non-party message" has "XC-PIU is not a party"
check "sign without --cert-secret is misuse" test "$(run agreement sign "$A/agreements/XA-XB.yaml")" -eq 2

# diff
check "diff of the two parties' copies: identical" test "$(run agreement diff "$A/agreements/XA-XB.yaml" "$B/agreements/XA-XB.yaml")" -eq 0
sed 's/max_results: 5/max_results: 50/' "$A/agreements/XA-XB.yaml" >"$dir/copy.yaml"
check "diff finds a changed term (exit 1)" test "$(run agreement diff "$A/agreements/XA-XB.yaml" "$dir/copy.yaml")" -eq 1
check "diff names direction and term" has "XB-PIU -> XA-PIU *max_results *5  |  50"
sed 's/^# XA and XB.*/# edited comment/' "$A/agreements/XA-XB.yaml" >"$dir/copy.yaml"
check "diff of same terms, other bytes (exit 1)" test "$(run agreement diff "$A/agreements/XA-XB.yaml" "$dir/copy.yaml")" -eq 1
check "diff says the bytes differ" has "bytes"

# suspend / resume
check "suspend" test "$(run agreement suspend -c "$A/piugwd.yaml" --reason "DPO review" XA-XC-2026-002)" -eq 0
run policy check -c "$A/piugwd.yaml" >/dev/null
check "suspended agreement shown" has "XA-XC-2026-002 *with XC-PIU *NOT in force: suspended here: DPO review"
check "check of a suspended agreement: exit 1" test "$(run agreement check -c "$A/piugwd.yaml" "$A/agreements/XA-XC.yaml")" -eq 1
check "resume" test "$(run agreement resume -c "$A/piugwd.yaml" XA-XC-2026-002)" -eq 0
check "resume twice: exit 1" test "$(run agreement resume -c "$A/piugwd.yaml" XA-XC-2026-002)" -eq 1

# directory sign / verify
check "directory verify" test "$(run directory verify -c "$A/piugwd.yaml" "$A/directory.yaml")" -eq 0
check "directory verify shows serial" has "serial   1"
cp "$A/directory.yaml" "$dir/dir.bak"
sed -i 's/PIU of XB/PIU 0f XB/; s/Passenger Information Unit of XB/Passenger Information Unit 0f XB/' "$A/directory.yaml"
check "tampered directory: exit 1" test "$(run directory verify -c "$A/piugwd.yaml" "$A/directory.yaml")" -eq 1
check "tampering named" has "signature verification failed"
check "policy check refuses a tampered directory" test "$(run policy check -c "$A/piugwd.yaml")" -eq 1
cp "$dir/dir.bak" "$A/directory.yaml"
minisign -S -l -s "$m/secretariat/secretariat.key" -m "$A/directory.yaml" -x "$dir/legacy.minisig" >/dev/null 2>&1
check "legacy minisign signature refused" test "$(run directory verify -c "$A/piugwd.yaml" --sig "$dir/legacy.minisig" "$A/directory.yaml")" -eq 1
check "legacy explained" has "legacy (non-prehashed)"
cp "$A/directory.yaml" "$dir/d2.yaml"
sed -i 's/^serial: 1/serial: 2/' "$dir/d2.yaml"
check "directory sign" test "$(run directory sign --key "$m/secretariat/secretariat.key" "$dir/d2.yaml")" -eq 0
check "stock minisign verifies our signature" minisign -Vq -p "$m/secretariat/secretariat.pub" -m "$dir/d2.yaml"
printf 'serial: 0\n' >"$dir/bad.yaml"
check "signing a broken directory refused" test "$(run directory sign --key "$m/secretariat/secretariat.key" "$dir/bad.yaml")" -eq 1
check "no signature written for it" test ! -e "$dir/bad.yaml.minisig"

# The secretariat's edits: a directory from .cert files, without an editor.
nd=$dir/new/directory.yaml
mkdir -p "$dir/new"
check "directory add on no file: --expires needed" test "$(run directory add "$nd" --cert "$A/certs/XA-PIU.cert" --endpoint tcp://127.0.0.1:7401 --name "PIU of XA" --contact "+00 555 0101")" -eq 2
check "directory add makes it" test "$(run directory add "$nd" --cert "$A/certs/XA-PIU.cert" --endpoint tcp://127.0.0.1:7401 --name "PIU of XA" --contact "+00 555 0101" --expires 2099-12-31)" -eq 0
check "  with serial 1" has "made, XA-PIU added; serial 1, 1 member"
check "  and says to sign it" has "piugw directory sign --key"
check "a second member, from its .cert alone" test "$(run directory add "$nd" --cert "$B/certs/XB-PIU.cert" --endpoint tcp://127.0.0.1:7402 --name 'Bundes "PIU": Köln # 2' --contact "+00 555 0102" --json)" -eq 0
check "  serial 2" has '"serial": 2'
check "the same member twice is refused" test "$(run directory add "$nd" --cert "$B/certs/XB-PIU.cert" --endpoint tcp://127.0.0.1:7402 --name x --contact y)" -eq 1
check "  saying how to change it" has "XB-PIU is a member already: change it with piugw directory set"
check "a bad endpoint is refused" test "$(run directory set "$nd" XB-PIU --endpoint udp://x:1)" -eq 2
check "set the endpoint" test "$(run directory set "$nd" XB-PIU --endpoint tcp://127.0.0.1:7502)" -eq 0
check "  serial 3" has "XB-PIU changed; serial 2 -> 3"
check "another's cert is not XB's keys" test "$(run directory set "$nd" XB-PIU --cert "$A/certs/XA-PIU.cert")" -eq 1
check "add XC" test "$(run directory add "$nd" --cert "$m/XC-PIU/etc/certs/XC-PIU.cert" --endpoint tcp://127.0.0.1:7403 --name "PIU of XC" --contact "+00 555 0103")" -eq 0
check "remove XA" test "$(run directory remove "$nd" XA-PIU)" -eq 0
check "  serial 5, 2 members" has "XA-PIU removed; serial 4 -> 5, 2 members"
check "removing one not there is refused" test "$(run directory remove "$nd" XA-PIU)" -eq 1
check "the edited file signs" test "$(run directory sign --key "$m/secretariat/secretariat.key" "$nd")" -eq 0
check "  and verifies" test "$(run directory verify --pubkey "$m/secretariat/secretariat.pub" "$nd")" -eq 0
check "  XB's endpoint as set" has "XB-PIU       XB  tcp://127.0.0.1:7502"
check "  its name as given" has 'Bundes "PIU": Köln # 2'
check "an edit leaves the old signature behind, which no longer verifies" sh -c "'$piugw' directory set '$nd' XC-PIU --name 'PIU XC' >/dev/null && ! '$piugw' directory verify --pubkey '$m/secretariat/secretariat.pub' '$nd' >/dev/null 2>&1"

# Agreements from a template, signed and checked many at a time.
C=$m/XC-PIU/etc
na=$dir/new/XB-XC-2026-009.yaml
check "agreement new from XA-XB's terms, for XB and XC" test "$(run agreement new --template "$A/agreements/XA-XB.yaml" --party XB-PIU --party XC-PIU --id XB-XC-2026-009 --from 2026-01-01 --until 2030-12-31 --out "$na")" -eq 0
check "  the first party's terms are XB's" sh -c "grep -A1 -- '- requester: XB-PIU' '$na' | grep -q 'responder: XC-PIU'"
check "  nothing of XA is left" test "$(grep -c XA-PIU "$na")" -eq 0
check "  the dates given" grep -q 'in_force: {from: 2026-01-01, until: 2030-12-31}' "$na"
terms_of() { grep -E '^ *(purposes|categories|disclosure|approval):' "$1" | sed 's/^ *//'; }
check "  the terms kept, direction by direction" test "$(terms_of "$na")" = "$(terms_of "$A/agreements/XA-XB.yaml")"
check "never over a file that is there" test "$(run agreement new --template "$A/agreements/XA-XB.yaml" --party XB-PIU --party XC-PIU --id XB-XC-2026-009 --from 2026-01-01 --until 2030-12-31 --out "$na")" -eq 1
check "one party twice is misuse" test "$(run agreement new --template "$A/agreements/XA-XB.yaml" --party XB-PIU --party XB-PIU --id X --from 2026-01-01 --until 2030-12-31 --out "$dir/new/x.yaml")" -eq 2
printf 'agreement: nonsense\n' >"$dir/new/bad-template.yaml"
check "a template that is no agreement is refused" test "$(run agreement new --template "$dir/new/bad-template.yaml" --party XB-PIU --party XC-PIU --id Y --from 2026-01-01 --until 2030-12-31 --out "$dir/new/y.yaml")" -eq 1
check "  saying what a template is" has "a template is an agreement file like any other"
cp "$na" "$dir/new/XB-XC-copy.yaml"
check "XB signs both in one call" test "$(run agreement sign --cert-secret "$m/XB-PIU/keys/XB-PIU.cert_secret" "$na" "$dir/new/XB-XC-copy.yaml")" -eq 0
check "  each" test "$(grep -c 'signatures now: 1 of 2' "$dir/out")" -eq 2
check "XC signs both, --json: one object a file" test "$(run agreement sign --cert-secret "$m/XC-PIU/keys/XC-PIU.cert_secret" "$na" "$dir/new/XB-XC-copy.yaml" --json)" -eq 0
check "  two of two" test "$(grep -c '"signatures": 2' "$dir/out")" -eq 2
check "check both: in force" test "$(run agreement check -c "$B/piugwd.yaml" "$na" "$dir/new/XB-XC-copy.yaml")" -eq 0
check "  each in force" test "$(grep -c 'state        in force' "$dir/out")" -eq 2
check "check one good and one unsigned: exit 1, both reported" test "$(run agreement check -c "$B/piugwd.yaml" "$na" "$dir/new/XB-XC-2026-009.yaml.sig" "$A/agreements/XA-XB.yaml")" -eq 1
check "  the good one still shown" has "XB-XC-2026-009 between XB-PIU and XC-PIU"

# piugwd.yaml from the command line.
check "config new" test "$(run config new --id XD-PIU --listen tcp://127.0.0.1:7404 --state "$dir/new/state" --certificate "$dir/new/keys/XD-PIU.cert_secret" --audit-key "$dir/new/keys/audit.key" --out "$dir/new/piugwd.yaml")" -eq 0
check "  read back as piugwd reads it" has "audit key    $dir/new/keys/audit.key"
check "  never over a file that is there" test "$(run config new --id XD-PIU --listen tcp://127.0.0.1:7404 --out "$dir/new/piugwd.yaml")" -eq 1
check "  a bad id is refused, nothing written" test "$(run config new --id 'xd piu' --listen tcp://127.0.0.1:7404 --out "$dir/new/other.yaml")" -eq 1 -a ! -e "$dir/new/other.yaml"

# a typo in piugwd.yaml
cp "$A/piugwd.yaml" "$dir/conf.bak"
sed -i 's/^  listen:/  lisen:/' "$A/piugwd.yaml"
check "typo: policy check exit 1" test "$(run policy check -c "$A/piugwd.yaml")" -eq 1
check "typo located and corrected" has "piugwd.yaml:4:3: unknown key 'lisen' in gateway; did you mean 'listen'?"
cp "$dir/conf.bak" "$A/piugwd.yaml"

# --help everywhere, misuse is exit 2
for v in agreement config directory policy keygen; do
	check "piugw $v --help" test "$(run $v --help)" -eq 0
	check "piugw $v --help on stdout" grep -q "Usage: piugw $v" "$dir/out"
done
check "unknown agreement subcommand" test "$(run agreement frobnicate)" -eq 2
check "mkmesh --help" "$top/deploy/examples/mkmesh" --help

finish
