# Shared by the scripts that run real gateways (mesh.sh, faults.sh), after
# lib.sh: the example mesh in $dir/mesh with the named travellers (API,
# mktravellers) and their PNR (mkpnrgov) in every store, and helpers that
# start, stop and question the gateways, always synchronised on events (the
# ready descriptor, log lines).
#   piugw=... piugwd=... rogue=... base=PORT [members=N]; . lib.sh; . meshlib.sh
# members=N: mkmesh --members N (XA-PIU, XB-PIU, ...) instead of the three.
m="$dir/mesh"
declare -A pid
# Whatever happens, no gateway outlives the test.
# PIUGW_TEST_KEEP=1 keeps the folder (mesh, logs) for a look afterwards.
trap 'for p in "${pid[@]}"; do kill -KILL "$p" 2>/dev/null; done
      [ -n "${PIUGW_TEST_KEEP:-}" ] && echo "kept: $dir" || rm -rf "$dir"' EXIT
PIUGW=$piugw "$top/deploy/examples/mkmesh" --base-port "$base" ${members:+--members "$members"} ${mkmesh_opts:-} "$m" >/dev/null 2>&1 ||
	{ echo "mkmesh failed"; exit 1; }
ids=$(cd "$m" && ls -d *-PIU)
# PIUGW_MESH_STORE=postgresql: every gateway's travellers in a database of
# its own on a private PostgreSQL (deploy/examples/pgcluster), stopped at the end.
if [ "${PIUGW_MESH_STORE:-}" = postgresql ]; then
	chmod o+x "$dir"
	dbs=()
	for id in $ids; do dbs+=("$(echo "$id" | tr 'A-Z-' 'a-z_')"); done
	pgconn=$("$top/deploy/examples/pgcluster" start "$dir/pg" "${dbs[@]}") || { echo "PostgreSQL did not start"; exit 1; }
	trap 'for p in "${pid[@]}"; do kill -KILL "$p" 2>/dev/null; done; wait 2>/dev/null
	      "$top/deploy/examples/pgcluster" stop "$dir/pg" >/dev/null 2>&1
	      [ -n "${PIUGW_TEST_KEEP:-}" ] && echo "kept: $dir" || rm -rf "$dir"' EXIT
	for id in $ids; do
		printf 'store:\n  backend: postgresql\n  conninfo: "host=%s dbname=%s"\n' "$dir/pg/sock" \
			"$(echo "$id" | tr 'A-Z-' 'a-z_')" >>"$m/$id/etc/piugwd.yaml"
	done
fi
"$top/deploy/examples/mktravellers" >"$dir/travellers.csv"
"$top/deploy/examples/mkpnrgov" >"$dir/pnr.edi"
for id in $ids; do
	"$piugw" import --format csv -c "$m/$id/etc/piugwd.yaml" "$dir/travellers.csv" >/dev/null ||
		{ echo "import failed"; exit 1; }
	"$piugw" import --format pnrgov -c "$m/$id/etc/piugwd.yaml" "$dir/pnr.edi" >/dev/null 2>&1 ||
		{ echo "PNRGOV import failed"; exit 1; }
done
cfg() { echo "$m/$1/etc/piugwd.yaml"; }

# start ID [WRAPPER...]: run piugwd (under WRAPPER, e.g. faketime) and wait
# until it says it serves (its ready descriptor).
start() {
	local id=$1 line=
	shift
	rm -f "$dir/$id.ready"
	mkfifo "$dir/$id.ready"
	"$@" "$piugwd" -c "$(cfg "$id")" --ready-fd 3 3>"$dir/$id.ready" >>"$dir/$id.log" 2>&1 &
	pid[$id]=$!
	read -r -t 30 line <"$dir/$id.ready" || true
	test "$line" = "READY=1"
}
# faketime_preload: LD_PRELOAD for piugwd under libfaketime (empty if it is
# missing). libfaketime goes straight into piugwd (env execs it), so that
# signals reach the daemon; a sanitizer build wants its runtime first.
faketime_preload() {
	local ft asan
	ft=$(dpkg -L libfaketime 2>/dev/null | grep -m1 'libfaketimeMT.so.1$')
	[ -n "$ft" ] || return 0
	asan=$(ldd "$piugwd" | awk '/libasan/ { print $3 }')
	echo "${asan:+$asan }$ft"
}
# preload LIB: LD_PRELOAD for piugwd with LIB (a sanitizer build wants its runtime first).
preload() {
	local asan
	asan=$(ldd "$piugwd" | awk '/libasan/ { print $3 }')
	echo "${asan:+$asan }$1"
}
# stop ID: SIGTERM, and the daemon's exit status.
stop() { kill -TERM "${pid[$1]}" && wait "${pid[$1]}"; }
# wait_log ID TEXT [N]: until the daemon's log has TEXT N times (default 1; bounded: 20 s).
wait_log() {
	test "$(timeout 20 tail -n +1 -F "$dir/$1.log" 2>/dev/null | grep -m "${3:-1}" -- "$2" | wc -l)" -eq "${3:-1}"
}
# ask ID ARGS...: piugw ARGS against gateway ID.
ask() { local id=$1; shift; run "$@" -c "$(cfg "$id")"; }
# rg FROM TO CASE...: a misbehaving FROM speaking to TO; output in $dir/out.
rg() { local from=$1 to=$2; shift 2; "$rogue" -c "$(cfg "$from")" --to "$to" "$@" >"$dir/out" 2>"$dir/err"; }
# t2 FROM TO CASE EXPECTED [ARGS...]: the rogue's answer matches EXPECTED.
t2() {
	rg "$1" "$2" "$3" "${@:5}"
	grep -q -- "$4" "$dir/out" || { echo "  rogue $3 said: $(head -c 300 "$dir/out")"; return 1; }
}
# warnings: on failure, what the daemons had to say (no personal data is in these logs).
warnings() {
	[ "$fails" -eq 0 ] && return
	for id in XA-PIU XB-PIU XC-PIU; do
		echo "--- $id: warnings and errors"
		grep -E "level=(warn|error)|^piugwd" "$dir/$id.log" | tail -20
	done
}
Q=(--purpose terrorism --case IT-1 --reason "linked to an ongoing investigation")
