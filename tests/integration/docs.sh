#!/usr/bin/env bash
# The man pages: each renders without a warning, and none falls behind the
# code: every verb and option that piugw and piugwd print in --help, and
# every key the configuration, agreement and directory parsers accept, is
# documented.
# Usage: docs.sh PATH-TO-piugw PATH-TO-piugwd PATH-TO-piugw-web
set -u
piugw=$1 piugwd=$2 web=$3
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
man=$top/doc/man

for page in piugw.1 piugwd.8 piugwd.yaml.5 piugw-agreement.5 piugw-directory.5 piugw-web.8; do
	check "$page renders" test -n "$(MANWIDTH=80 man -l "$man/$page" 2>/dev/null)"
	check "$page renders without warnings" test -z "$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$man/$page" 2>&1 >/dev/null)"
done
# The roff source with its escaped hyphens plain, for searching.
plain() { sed 's/\\-/-/g; s/\\(dq/"/g' "$man/$1"; }
verbs=$("$piugw" --help | sed -n 's/^  \([a-z]*\)  .*/\1/p')
check "piugw lists its verbs" test -n "$verbs"
for v in $verbs; do
	check "piugw.1 documents '$v'" grep -qE "^\.SS .*\b$v\b" <(plain piugw.1)
	for o in $("$piugw" "$v" --help 2>&1 | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
		check "piugw.1 documents $v $o" grep -q -- "$o" <(plain piugw.1)
	done
done
for o in $("$piugwd" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
	check "piugwd.8 documents $o" grep -q -- "$o" <(plain piugwd.8)
done
for o in $("$web" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
	check "piugw-web.8 documents $o" grep -q -- "$o" <(plain piugw-web.8)
done
# keys FILE: every key of the parser's *_keys[] tables in FILE.
keys() { sed -n '/_keys\[\] = {/,/};/p' "$top/gateway/lib/$1" | grep -oE '"[a-z_]+"' | tr -d '"' | sort -u; }
for pair in config.c:piugwd.yaml.5 agreement.c:piugw-agreement.5 directory.c:piugw-directory.5 webconf.c:piugw-web.8; do
	src=${pair%%:*} page=${pair#*:}
	n=0
	for k in $(keys "$src"); do
		n=$((n + 1))
		check "$page documents '$k'" grep -qw -- "$k" <(plain "$page")
	done
	check "$src has keys to check" test "$n" -gt 2
done
finish
