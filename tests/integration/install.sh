#!/usr/bin/env bash
# cmake --install puts everything in the usual places under a prefix.
# Usage: install.sh BUILD-DIR
set -u
build=$1
. "$(dirname "$0")/lib.sh"
cmake --install "$build" --prefix "$dir/usr" >"$dir/out" 2>&1 || { cat "$dir/out"; exit 1; }
for f in bin/piugw sbin/piugwd lib/systemd/system/piugwd.service lib/sysusers.d/piugw.conf \
	lib/systemd/system/piugw-retention.service lib/systemd/system/piugw-retention.timer \
	share/man/man1/piugw.1 share/man/man8/piugwd.8 share/man/man5/piugwd.yaml.5 \
	share/man/man5/piugw-agreement.5 share/man/man5/piugw-directory.5 \
	share/doc/piugw/examples/piugwd.yaml.in share/doc/piugw/examples/agreements/XA-XB.yaml \
	share/doc/piugw/protocol-notes.md \
	include/piugw/client.h include/piugw/error.h include/piugw/local.pb-c.h; do
	check "installs $f" test -s "$dir/usr/$f"
done
check "the examples carry no build files" test ! -e "$dir/usr/share/doc/piugw/examples/CMakeLists.txt" -a ! -e "$dir/usr/share/doc/piugw/examples/gen_travellers.c"
check "the installed piugw runs" "$dir/usr/bin/piugw" --version
finish
