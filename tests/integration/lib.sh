# Shared by the integration scripts: a temporary folder removed on exit, and
# check/run/has helpers that count passes and failures.
#   . lib.sh; ...; finish
dir=$(mktemp -d "${TMPDIR:-/tmp}/piugw-it-XXXXXX")
trap 'rm -rf "$dir"' EXIT
fails=0 passes=0
# check NAME COMMAND...: counts a pass if COMMAND succeeds.
check() {
	local name=$1
	shift
	if "$@"; then passes=$((passes + 1)); else echo "FAIL: $name"; fails=$((fails + 1)); fi
}
# run ARGS...: runs piugw ARGS, output to $dir/out and $dir/err; prints the exit code.
run() { "$piugw" "$@" >"$dir/out" 2>"$dir/err"; echo $?; }
# has TEXT: the last run printed TEXT (stdout or stderr).
has() { grep -q -- "$1" "$dir/out" "$dir/err"; }
# finish: the closing line, and the exit status.
finish() {
	echo "$passes passed, $fails failed"
	test "$fails" -eq 0
}
