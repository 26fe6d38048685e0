#!/usr/bin/env bash
# Lookouts and notifications (issue 20) on 127.0.0.1, three real gateways:
# XA places a lookout at XB for a document; XB imports a PAXLST and a
# PNRGOV holding travellers it looks out for; XA's alerts show the flight,
# once per person and flight, and both audit logs record each step. Then
# what must be refused or must not fire: a purpose outside the lookouts
# terms, more lookouts than the terms allow, an expired lookout, a
# suspended agreement, a notification carrying a category the terms do not
# allow; and XC's terms hold notifications for a person there.
# Synchronised on the gateways' answers (alerts --wait), never on sleeps;
# the two waits for a state (expiry, suspension) are bounded polls.
# Usage: lookouts.sh PIUGW PIUGWD ROGUE
set -u
piugw=$1 piugwd=$2 rogue=$3
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
base=${PIUGW_TEST_PORT:-30701}
. "$(dirname "$0")/meshlib.sh"

for id in XA-PIU XB-PIU XC-PIU; do check "$id starts" start "$id"; done
L=(--purpose terrorism --case LO-1 --reason "a known associate of a suspect")
# A PAXLST of yesterday: MUELLER ANNA (P1234567, XBA) and MUELLER JONAS (P7654321) on XB 101.
sed "s/+270530:1200+/+$(date -u -d yesterday +%y%m%d):1200+/" "$top/tests/fixtures/paxlst/basic.edi" >"$dir/basic.edi"
# A PNRGOV of yesterday: ANNA's booking on XB 101, and OKAFOR CHIDI (C9876543,
# issued by XC) on XB 101.
sed "s/+270530:1200+/+$(date -u -d yesterday +%y%m%d):1200+/" "$top/tests/fixtures/pnrgov/booking.edi" >"$dir/booking.edi"
imp() { ask "$1" import --format "$2" "$3"; }
# alerts ID: how many alerts XA holds from ID (every one, seen or not).
alerts_from() { ask XA-PIU alerts --all --json >/dev/null; jq "[.alerts[]? | select(.peer == \"$1\")] | length" "$dir/out"; }
# until_state ID REF STATE: poll (bounded: 10 s) until lookout REF at ID is in STATE.
until_state() {
	for _ in $(seq 50); do
		ask "$1" lookout list "$2" --json >/dev/null
		[ "$(jq -r '.lookouts[0].state' "$dir/out")" = "$3" ] && return 0
		sleep 0.2
	done
	return 1
}

# --- the story ----------------------------------------------------------------
check "XA places a lookout at XB for a document" test "$(ask XA-PIU lookout place --to XB-PIU "${L[@]}" --document P1234567 --issuer XBA)" -eq 0
check "  XB holds it" has "held by XB-PIU"
ref=$(awk '/^LK-/ { print $1; exit }' "$dir/out")
theirs=$(awk '/their reference/ { print $3; exit }' "$dir/out")
check "  at most the terms' 90 days" has "expires $(date -u -d '+90 days' +%Y-%m-%d)"
check "XB lists it among partners' lookouts" test "$(ask XB-PIU lookout list --peer)" -eq 0
check "  under its reference" has "$theirs"
check "  its kind, not whom it looks for" has "a document lookout (whom it looks for is the partner's to know)"
check "  (no document number)" test "$(grep -c P1234567 "$dir/out")" -eq 0
check "another for a traveller who is only booked (PNR)" test "$(ask XA-PIU lookout place --to XB-PIU "${L[@]}" --document C9876543 --issuer XC)" -eq 0
check "XB imports the PAXLST" test "$(imp XB-PIU paxlst "$dir/basic.edi")" -eq 0
check "within 5 s XA's alerts show the flight" test "$(ask XA-PIU alerts --wait 5)" -eq 0
check "  the person and the flight, from API" has "travels on XB 101 on 2027-05-30 from XBB to XAA  (API)"
check "  with the lookout and our case" has "lookout $ref  case LO-1"
check "  only the categories the lookouts block allows (no travel)" test "$(grep -c 'api_travel' "$dir/out")" -eq 0
alert=$(awk '/^AL-/ { print $1; exit }' "$dir/out")
check "XB imports a PNRGOV" test "$(imp XB-PIU pnrgov "$dir/booking.edi")" -eq 0
check "  XA is told of the booked traveller" test "$(ask XA-PIU alerts --wait 5)" -eq 0
check "  from PNR" has "(PNR)"
check "  and his itinerary (pnr.itinerary is allowed)" has "pnr_itinerary"
check "XB imports the PAXLST again" test "$(imp XB-PIU paxlst "$dir/basic.edi")" -eq 0
# ANNA on XB 101 (API; her booking's PNR is the same person and flight), OKAFOR on XB 101 (PNR).
check "  a lookout fires once per person and flight" test "$(alerts_from XB-PIU)" -eq 2
check "an operator marks the first seen" test "$(ask XA-PIU alerts seen "$alert")" -eq 0
check "  on record" has "seen by"
check "XA's lookout counts its notification" test "$(ask XA-PIU lookout list "$ref")" -eq 0
check "  one" has "1 notification"
check "status shows the lookouts on both sides" test "$(ask XB-PIU status --json)" -eq 0
check "  held at XB" test "$(jq '.lookouts_held' "$dir/out")" -eq 2
check "XB's metrics: partners' lookouts in force" sh -c "curl -sf http://127.0.0.1:$((base + 101))/metrics >'$dir/metrics'"
check "  two held for XA" grep -q '^piugw_lookouts{side="held",peer="XA-PIU",state="active"} 2$' "$dir/metrics"
check "  two notifications acknowledged" grep -q '^piugw_notifications_total{direction="sent",peer="XA-PIU",outcome="acknowledged"} 2$' "$dir/metrics"
check "  none waiting" grep -q '^piugw_notifications_waiting{peer="XA-PIU",state="sending"} 0$' "$dir/metrics"

# --- refusals -------------------------------------------------------------------
check "a purpose outside the lookouts terms is refused" test "$(ask XA-PIU lookout place --to XB-PIU --purpose serious_crime --case LO-2 --reason "fraud" --document P1234567 --issuer XBA)" -eq 1
check "  PURPOSE_NOT_ALLOWED" has "PURPOSE_NOT_ALLOWED"
check "XC's terms allow two lookouts: one" test "$(ask XA-PIU lookout place --to XC-PIU "${L[@]}" --document P1234567 --issuer XBA)" -eq 0
check "  two" test "$(ask XA-PIU lookout place --to XC-PIU "${L[@]}" --document C9876543 --issuer XC)" -eq 0
check "  a third is refused" test "$(ask XA-PIU lookout place --to XC-PIU "${L[@]}" --document P7654321 --issuer XBA)" -eq 1
check "  TOO_MANY_LOOKOUTS" has "TOO_MANY_LOOKOUTS"
# XC holds its notifications for a person there (notify: after_approval).
check "XC imports the PAXLST" test "$(imp XC-PIU paxlst "$dir/basic.edi")" -eq 0
for _ in $(seq 50); do ask XC-PIU pending >/dev/null; has "notification to XA-PIU" && break; sleep 0.2; done
check "  the notification waits in XC's pending" has "notification to XA-PIU"
nt=$(awk '/notification to XA-PIU/ { print $1; exit }' "$dir/out")
check "  nothing reached XA yet" test "$(alerts_from XC-PIU)" -eq 0
check "  an approver lets it go" test "$(ask XC-PIU approve "$nt")" -eq 0
check "  XA has it" test "$(ask XA-PIU alerts --wait 5 --json)" -eq 0
check "  from XC" test "$(alerts_from XC-PIU)" -eq 1

# An expired lookout fires nothing: JONAS (P7654321) is in the PAXLST.
check "a lookout for 2 s" test "$(ask XA-PIU lookout place --to XB-PIU "${L[@]}" --document P7654321 --issuer XBA --expires 2s)" -eq 0
short=$(awk '/^LK-/ { print $1; exit }' "$dir/out")
check "  expires at XA" until_state XA-PIU "$short" lookout_state_expired
for _ in $(seq 50); do ask XB-PIU lookout list --peer --all >/dev/null; grep -q expired "$dir/out" && break; sleep 0.2; done
check "  and at XB" has "expired"
before=$(alerts_from XB-PIU)
check "  XB imports JONAS again" test "$(imp XB-PIU paxlst "$dir/basic.edi")" -eq 0
check "  no notification" test "$(ask XA-PIU lookout list "$short")" -eq 0
check "  (none for it)" has "0 notifications"
check "  (none at all)" test "$(alerts_from XB-PIU)" -eq "$before"

# A suspended agreement suspends its lookouts at once, and fires nothing.
check "a lookout by name for JONAS" test "$(ask XA-PIU lookout place --to XB-PIU "${L[@]}" --name MUELLER --given JONAS --dob 2015-01-01)" -eq 0
byname=$(awk '/their reference/ { print $3; exit }' "$dir/out")
"$piugw" agreement suspend -c "$(cfg XB-PIU)" --reason "under review" XA-XB-2026-001 >/dev/null
check "XB suspends the agreement: its lookouts are suspended" until_state XB-PIU "$byname" lookout_state_suspended
check "  XB imports JONAS" test "$(imp XB-PIU paxlst "$dir/basic.edi")" -eq 0
check "  XA gets no notification" test "$(alerts_from XB-PIU)" -eq "$before"
check "  a new lookout is refused there" test "$(ask XA-PIU lookout place --to XB-PIU "${L[@]}" --document X0000001 --issuer XBA)" -eq 1
check "  AGREEMENT_NOT_IN_FORCE" has "AGREEMENT_NOT_IN_FORCE"
"$piugw" agreement resume -c "$(cfg XB-PIU)" XA-XB-2026-001 >/dev/null
check "resumed: active again" until_state XB-PIU "$byname" lookout_state_active
check "  XB imports JONAS" test "$(imp XB-PIU paxlst "$dir/basic.edi")" -eq 0
check "  now XA is told" test "$(ask XA-PIU alerts --wait 5)" -eq 0
check "  of JONAS" has "given_names=JONAS"

# A notification that carries more than the terms allow is refused by the asker.
check "a notification with api.travel is refused by XA" t2 XB-PIU XA-PIU notify-extra-category "ERROR MALFORMED" --load "$theirs"
check "  naming the category" grep -q "api.travel" "$dir/out"
check "  one within the terms is acknowledged" t2 XB-PIU XA-PIU notify "ACK NT-ROGUE" --load "$theirs"
check "  a notification of no lookout of ours is refused" t2 XB-PIU XA-PIU notify "ERROR UNKNOWN_QUERY" --load LO-000000000000

# Withdrawn: XB looks out no more.
check "XA withdraws its first lookout" test "$(ask XA-PIU lookout withdraw "$ref")" -eq 0
check "  withdrawn" has "withdrawn"
check "  at XB too" until_state XB-PIU "$theirs" lookout_state_withdrawn

# A partner away: the lookout is kept and sent again until it takes it, held once.
check "XB stops" stop XB-PIU
check "a lookout for a partner that is away" test "$(ask XA-PIU lookout place --to XB-PIU "${L[@]}" --document R2222222 --issuer XBA)" -eq 0
check "  not delivered yet, kept" has "kept and sent again until XB-PIU takes it"
away=$(awk '/^LK-/ { print $1; exit }' "$dir/out")
check "XB starts again" start XB-PIU
check "  XA sends it again: held" until_state XA-PIU "$away" lookout_state_active
check "the same lookout sent twice (an answer lost): one reference" t2 XA-PIU XB-PIU place-twice "LOOKOUT 1 LO-"
check "  both answers name it" test "$(grep -c '^LOOKOUT 1 LO-' "$dir/out")" -eq 2 -a "$(sort -u "$dir/out" | grep -c '^LOOKOUT')" -eq 1
check "  XB holds it once" sh -c "'$piugw' lookout list --peer -c '$(cfg XB-PIU)' | grep -c 'case ROGUE-1' | grep -qx 1"

# To every partner whose terms allow it: XC holds as many of ours as its terms allow.
check "--to all" test "$(ask XA-PIU lookout place --to all "${L[@]}" --document Q1111111 --issuer XBA)" -eq 0
check "  held by XB" has "held by XB-PIU"
check "  only there" test "$(grep -c '^LK-' "$dir/out")" -eq 1

# --- both audit logs ------------------------------------------------------------
for id in XA-PIU XB-PIU XC-PIU; do check "$id stops" stop "$id"; done
for id in XA-PIU XB-PIU XC-PIU; do
	check "$id audit verifies" test "$(run audit verify -c "$(cfg "$id")")" -eq 0
done
check "XA's audit: the subject's history" test "$(run audit subject -c "$(cfg XA-PIU)" --document P1234567 --issuer XBA)" -eq 0
for what in "lookout placed" "lookout accepted" "notified" "lookout withdrawn"; do
	check "  $what" has "$what"
done
check "XB's audit: the subject's history" test "$(run audit subject -c "$(cfg XB-PIU)" --document P1234567 --issuer XBA)" -eq 0
for what in "lookout accepted" "lookout fired" "notified" "notification acknowledged" "lookout withdrawn"; do
	check "  $what" has "$what"
done
check "XA's audit: the third at XC, stopped here" test "$(run audit show -c "$(cfg XA-PIU)" --refusal TOO_MANY_LOOKOUTS --json)" -eq 0
check "  recorded" has "stopped here"
check "XB's audit: the expiry and the suspension" test "$(run audit show -c "$(cfg XB-PIU)" --event "lookout suspended" --json)" -eq 0
check "  suspended" has "suspended:"
check "  resumed" has "resumed:"
check "XC's audit: the notification held and approved" test "$(run audit show -c "$(cfg XC-PIU)" --event "notification decided" --json)" -eq 0
check "  approved" has "approved"
for pii in P1234567 C9876543 P7654321 MUELLER OKAFOR 1985-04-12; do
	check "no '$pii' in logs or audit" test -z "$(grep -rl -- "$pii" "$dir"/*.log "$m"/*/state/audit 2>/dev/null)"
done
# Item 6: a notification unacknowledged past the terms' ack_within_hours (24)
# is a warning in the holder's health. XA is stopped: XB's notification of
# the --to all lookout (Q1111111, JONAS's document in this PAXLST) waits;
# two days on, XB's /healthz says so.
sed "s/P7654321/Q1111111/" "$dir/basic.edi" >"$dir/q.edi"
check "XB starts (XA is stopped)" start XB-PIU
check "XB imports JONAS with the document looked out for" test "$(imp XB-PIU paxlst "$dir/q.edi")" -eq 0
check "  the notification waits to be acknowledged" wait_log XB-PIU "event=lookout_fired peer=XA-PIU"
check "  healthz is fine for now" test "$(curl -s -o "$dir/health" -w '%{http_code}' "http://127.0.0.1:$((base + 101))/healthz")" = 200
check "XB stops" stop XB-PIU
ft=$(faketime_preload)
check "libfaketime is there" test -n "$ft"
check "XB starts two days on" start XB-PIU env LD_PRELOAD="$ft" FAKETIME=+2d
check "  healthz: 503" test "$(curl -s -o "$dir/health" -w '%{http_code}' "http://127.0.0.1:$((base + 101))/healthz")" = 503
check "  saying why" grep -q "1 notification(s) not acknowledged within the agreement's ack_within_hours" "$dir/health"
check "XB stops" stop XB-PIU
warnings
finish
