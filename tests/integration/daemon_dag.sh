#!/usr/bin/env bash
# The daemon's files form a DAG (issue 17): no file calls a file above it.
# Read from the compiled objects, not the source: for each object of piugwd,
# the symbols it uses that another object of piugwd defines. Prints, per
# file, the files it calls (and how many of their functions), then fails if
# the calls go round anywhere, naming the cycle.
# Usage: daemon_dag.sh OBJECT...   (ctest passes $<TARGET_OBJECTS:piugwd>)
set -u
. "$(dirname "$0")/lib.sh"

declare -A def calls
names=()
for o in "$@"; do
	f=$(basename "$o" .o)
	f=${f%.c}
	names+=("$f")
	while read -r s; do def[$s]=$f; done < <(nm --defined-only -g "$o" | awk '$2 ~ /[TDBR]/ {print $3}')
done
for o in "$@"; do
	f=$(basename "$o" .o)
	f=${f%.c}
	calls[$f]=$(nm -u "$o" | awk '{print $2}' | while read -r s; do
		t=${def[$s]:-}
		[ -n "$t" ] && [ "$t" != "$f" ] && echo "$t"
	done | sort | uniq -c | awk '{printf "%s(%s) ", $2, $1}')
	echo "  $f -> ${calls[$f]:-(nothing of the daemon)}"
done

# Depth-first search for a cycle; prints it as a -> b -> a.
declare -A state
cycle=
visit() {
	local f=$1 t
	state[$f]=open
	for t in ${calls[$f]:-}; do
		t=${t%%(*}
		if [ "${state[$t]:-}" = open ]; then
			cycle="$f -> $t"
			return 1
		fi
		if [ -z "${state[$t]:-}" ]; then
			visit "$t" || { cycle="$f -> $cycle"; return 1; }
		fi
	done
	state[$f]=done
	return 0
}
acyclic() {
	for f in "${names[@]}"; do
		[ -n "${state[$f]:-}" ] || visit "$f" || return 1
	done
}
check "piugwd's files: ${#names[@]}" test "${#names[@]}" -ge 5
check "no file calls one above it${cycle:+ ($cycle)}" acyclic
[ -n "$cycle" ] && echo "  cycle: $cycle"
finish
