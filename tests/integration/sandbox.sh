#!/usr/bin/env bash
# The walls of issue 18 around real gateways on 127.0.0.1: piugwd's key
# holder is a process of its own under a seccomp filter, it alone holds the
# signing key (read through /proc/PID/mem, as a debugger or an exploit in
# the main process would), and when it ends the daemon says so and stops.
# The main process runs under a filter of its own on every thread and under
# Landlock: built with the test hooks, it attempts what they forbid.
# The metrics process (libmicrohttpd) is a third: no key, no traveller, no
# file, and its end is logged while the gateway serves on.
# Usage: sandbox.sh PIUGW PIUGWD ROGUE MEMSCAN NONETLINK
set -u
piugw=$1 piugwd=$2 rogue=$3 memscan=$4 nonetlink=$5
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
base=${PIUGW_TEST_PORT:-29901}
. "$(dirname "$0")/meshlib.sh"

# child ID NAME: the processes of gateway ID named NAME (piugwd-keys, piugwd-metrics).
child() {
	local parent=${pid[$1]} name=$2 s line
	for s in /proc/[0-9]*/stat; do
		read -r line <"$s" 2>/dev/null || continue
		case $line in *" ($name) "*) ;; *) continue ;; esac
		set -- ${line##*) } # after "(comm) ": state ppid ...
		[ "${2:-}" = "$parent" ] && { line=${s#/proc/}; echo "${line%/stat}"; }
	done
}
key_holder() { child "$1" piugwd-keys; }
metrics_of() { child "$1" piugwd-metrics; }
# status PID FIELD VALUE: /proc/PID/status says FIELD: VALUE.
status() { grep -q "^$2:[[:space:]]*$3\$" "/proc/$1/status"; }
cert() { # the secret certificate of ID, wherever this test keeps it
	if [ -f "$m/$1/keys/$1.cert_secret" ]; then echo "$m/$1/keys/$1.cert_secret"; else echo "$m/$1/etc/certs/$1.cert_secret"; fi
}

# The example mesh keeps each gateway's key files in a folder of their own
# (OUT/ID/keys; piugwd.yaml(5), KEY FILES), as XC has them. XA is set up
# the way the defaults would put them: in the configuration folder and the
# state directory, which Landlock cannot take from the main process.
xck=$m/XC-PIU/keys
mv "$m/XA-PIU/keys/XA-PIU.cert_secret" "$m/XA-PIU/etc/certs/"
sed -i -e "s|certificate: .*|certificate: certs/XA-PIU.cert_secret|" \
	-e "s|key_file: .*|key_file: $m/XA-PIU/state/audit.key|" "$(cfg XA-PIU)"

check "XA starts" start XA-PIU
check "  it says its certificate is in a folder it keeps" grep -q 'event=sandbox key_readable=gateway.certificate' "$dir/XA-PIU.log"
check "  and its audit key too" grep -q 'event=sandbox key_readable=audit.key_file' "$dir/XA-PIU.log"
check "XB starts" start XB-PIU
check "  its key files apart, it says nothing of the kind" test "$(grep -c key_readable "$dir/XB-PIU.log")" -eq 0
xa_kh=$(key_holder XA-PIU)
check "XA has one key holder (${xa_kh:-none})" test -n "$xa_kh" -a "$(echo "$xa_kh" | wc -w)" -eq 1
check "its seccomp filter is on (Seccomp: 2)" status "$xa_kh" Seccomp 2
check "it gains no privileges (NoNewPrivs: 1)" status "$xa_kh" NoNewPrivs 1
check "a query is answered, signed by both key holders" \
	test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --document P1234567 --issuer XAA)" -eq 0
# The main process: its filter on every thread (libzmq's too), and what it may not do.
xa=${pid[XA-PIU]}
check "XA's main process: Seccomp 2 and NoNewPrivs 1" sh -c "grep -q '^Seccomp:.2$' /proc/$xa/status && grep -q '^NoNewPrivs:.1$' /proc/$xa/status"
unfiltered=$(grep -L '^Seccomp:.2$' /proc/"$xa"/task/*/status)
check "every one of its threads ($(ls /proc/"$xa"/task | wc -l)) is filtered${unfiltered:+ (not: $unfiltered)}" test -z "$unfiltered"
# escape WHAT: XC, built with the test hooks, attempts WHAT once it serves.
escape() { start XC-PIU env PIUGW_TEST_ESCAPE="$1"; }
check "XC starts and tries to read its own certificate" escape "read:$xck/XC-PIU.cert_secret"
check "  Landlock refuses it: only the key holder read it" wait_log XC-PIU "event=test_escape what=read:$xck/XC-PIU.cert_secret result=refused error=\"Permission denied\""
check "  nor does it say a key is readable" test "$(grep -c 'key_readable' "$dir/XC-PIU.log")" -eq 0
check "  until stopped" stop XC-PIU
check "XC starts and tries to read its audit key" escape "read:$xck/audit.key"
check "  Landlock refuses it" wait_log XC-PIU "event=test_escape what=read:$xck/audit.key result=refused error=\"Permission denied\""
check "  until stopped" stop XC-PIU
check "XC starts and tries to read /etc/shadow" escape shadow
check "  Landlock refuses it" wait_log XC-PIU 'event=test_escape what=shadow result=refused error="Permission denied"'
check "  and XC serves on" test "$(ask XA-PIU query --to XC-PIU "${Q[@]}" --document P1234567 --issuer XAA)" -eq 0
check "  until stopped" stop XC-PIU
check "XC starts and tries to open a packet socket" escape socket
check "  its filter refuses it" wait_log XC-PIU 'event=test_escape what=socket result=refused error="Operation not permitted"'
check "  until stopped" stop XC-PIU
check "XC starts and tries to run a program" escape execve
wait "${pid[XC-PIU]}"
rc=$?
check "  its filter kills it (SIGSYS: status $rc)" test "$rc" -eq $((128 + 31))
check "  before a word of it (no test_escape line)" test "$(grep -c 'what=execve' "$dir/XC-PIU.log")" -eq 0

"$memscan" "$xa_kh" "$(cert XA-PIU)" >"$dir/out" 2>&1
rc=$?
check "the key holder holds XA's signing key (the scan finds it: $(cat "$dir/out"))" test $rc -eq 1
"$memscan" "${pid[XA-PIU]}" "$(cert XA-PIU)" >"$dir/out" 2>&1
rc=$?
check "XA's main process does not ($(cat "$dir/out"))" test $rc -eq 0
# The CURVE secret the other way round: the main process speaks CURVE, the key holder never.
"$memscan" --transport "${pid[XA-PIU]}" "$(cert XA-PIU)" >"$dir/out" 2>&1
rc=$?
check "XA's main process holds its CURVE secret (libzmq's copy: $(cat "$dir/out"))" test $rc -eq 1
"$memscan" --transport "$xa_kh" "$(cert XA-PIU)" >"$dir/out" 2>&1
rc=$?
check "its key holder does not ($(cat "$dir/out"))" test $rc -eq 0

# The metrics process: its own filter, nothing of the keys or the travellers.
xa_mx=$(metrics_of XA-PIU)
check "XA has one metrics process (${xa_mx:-none})" test -n "$xa_mx" -a "$(echo "$xa_mx" | wc -w)" -eq 1
check "  under its filter (Seccomp: 2, NoNewPrivs: 1)" sh -c "grep -q '^Seccomp:.2$' /proc/$xa_mx/status && grep -q '^NoNewPrivs:.1$' /proc/$xa_mx/status"
if [ "$(id -u)" -eq 0 ]; then
	check "  as nobody, piugwd being root" grep -q '^Uid:.65534.65534.65534.65534$' "/proc/$xa_mx/status"
fi
check "  which serves /metrics" sh -c "curl -sf http://127.0.0.1:$((base + 100))/metrics | grep -q '^piugw_queries_sent_total{peer=\"XB-PIU\"'"
for what in "" --transport; do
	"$memscan" $what "$xa_mx" "$(cert XA-PIU)" >"$dir/out" 2>&1
	rc=$?
	check "  holds no key ($(cat "$dir/out"))" test $rc -eq 0
done
# The traveller asked about is in XA's main process (the positive control), never in metrics.
"$memscan" --text P1234567 "$xa" >"$dir/out" 2>&1
rc=$?
check "XA's main process has seen the traveller ($(cat "$dir/out"))" test $rc -eq 1
"$memscan" --text P1234567 "$xa_mx" >"$dir/out" 2>&1
rc=$?
check "  its metrics process has not ($(cat "$dir/out"))" test $rc -eq 0
# escape_metrics WHAT: XC's metrics process attempts WHAT once it serves.
escape_metrics() { start XC-PIU env PIUGW_TEST_ESCAPE_METRICS="$1"; }
check "XC's metrics process tries to read /etc/shadow" escape_metrics shadow
check "  its filter refuses it (no open(2) at all; Landlock, with no rule, behind it)" wait_log XC-PIU 'event=test_escape what=shadow result=refused error="Operation not permitted" process=metrics'
check "  and XC's main process's memory" stop XC-PIU
check "  (tried)" escape_metrics parent_memory
check "  its filter refuses that too" wait_log XC-PIU 'event=test_escape what=parent_memory result=refused error="Operation not permitted" process=metrics'
check "  and a packet socket" stop XC-PIU
check "  (tried)" escape_metrics socket
check "  its filter refuses it" wait_log XC-PIU 'event=test_escape what=socket result=refused error="Operation not permitted" process=metrics'
check "  and still serves /healthz" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((base + 102))/healthz")" != 000
check "  until stopped" stop XC-PIU
check "XC's metrics process tries to run a program" escape_metrics execve
check "  XC logs that its filter killed it" wait_log XC-PIU "event=metrics_failed problem=\"it ended (killed by signal 31"
check "  /metrics is no longer served" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((base + 102))/metrics")" = 000
check "  and XC answers on" test "$(ask XA-PIU query --to XC-PIU "${Q[@]}" --document P1234567 --issuer XAA)" -eq 0
check "  until stopped" stop XC-PIU

# The key holder ends: nothing can be signed or recorded; the daemon says why and stops.
kill -KILL "$xa_kh"
# (XA may have stopped before the query reaches it: then nothing answers, and
# the command gives up at its deadline's end rather than after 305 s.)
check "a query after it is not answered" \
	test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --document P1234567 --issuer XAA --deadline 5)" -ne 0
check "XA logs that its key holder failed, and how" wait_log XA-PIU "event=key_holder_failed.*killed by signal 9"
wait "${pid[XA-PIU]}"
rc=$?
check "XA exits with status 2 (a restart starts a new one): $rc" test "$rc" -eq 2
check "XA starts again" start XA-PIU
check "and answers" test "$(ask XA-PIU query --to XB-PIU "${Q[@]}" --document P1234567 --issuer XAA)" -eq 0
# As the systemd unit runs it: no netlink socket (RestrictAddressFamilies=).
# libzmq's bind looks the address up as an interface name first and
# aborted on the unit's EAFNOSUPPORT: the unit could not start piugwd.
check "XC starts without netlink, as under its systemd unit" start XC-PIU "$nonetlink"
check "  and answers" test "$(ask XA-PIU query --to XC-PIU "${Q[@]}" --document P1234567 --issuer XAA)" -eq 0
check "  and reloads" sh -c "kill -HUP ${pid[XC-PIU]}"
check "  (reloaded)" wait_log XC-PIU "event=reloaded"
check "  until stopped" stop XC-PIU
check "XB stops" stop XB-PIU
check "XA stops" stop XA-PIU
# Their checkpoints, the final ones of a clean stop too, signed by the key holders.
for id in XA-PIU XB-PIU; do
	check "$id's audit log verifies to its end" test "$(ask $id audit verify)" -eq 0
done
# Three processes write one log: each line whole (one write(2) a line).
for id in XA-PIU XB-PIU XC-PIU; do
	check "$id's log lines are whole" test "$(grep -c 'level=.* level=' "$dir/$id.log")" -eq 0
done
warnings
finish
