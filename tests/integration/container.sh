#!/usr/bin/env bash
# There is no Docker engine here, so the container files are checked by
# reading: the runtime stage installs the Debian package of every shared
# library piugwd and piugw need, builds with the same steps as ./tests/run,
# runs as a non-root user, and compose names the three gateways.
# Usage: container.sh PATH-TO-piugwd PATH-TO-piugw
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
df=$top/deploy/docker/Dockerfile compose=$top/deploy/docker/compose.yaml
runtime=$(sed -n '/^FROM .* AS runtime/,$p' "$df")
for bin in "$1" "$2"; do
	for lib in $(objdump -p "$bin" | sed -n 's/^ *NEEDED *//p'); do
		# libc is in every image; the sanitizer runtimes are only in the test build.
		case "$lib" in libc.so.* | libm.so.* | libpthread.so.* | ld-linux* | libasan.so.* | libubsan.so.*) continue ;; esac
		path=$(ldd "$bin" | awk -v l="$lib" '$1 == l { print $3 }')
		pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | cut -d: -f1 | head -1)
		check "runtime image has $pkg ($lib of $(basename "$bin"))" grep -qw -- "$pkg" <<<"$runtime"
	done
done
check "build stage uses deploy/install-deps" grep -q 'deploy/install-deps' "$df"
check "build stage builds with warnings as errors" grep -q 'PIUGW_WERROR=ON' "$df"
# Its install-deps --demo brings no test package: the tests must stay unconfigured.
check "build stage does not configure the tests" bash -c '! grep -q "PIUGW_TESTS=ON" "$1"' _ "$df"
check "runs as a non-root user" grep -q '^USER piugw' "$df"
check "its state folder is its own (0700)" grep -q 'install -d -o piugw -g piugw -m 0700 /var/lib/piugw' "$df"
check "its socket folder exists (0750)" grep -q 'install -d -o piugw -g piugw -m 0750 /run/piugw' "$df"
check "multi-stage" test "$(grep -c '^FROM ' "$df")" -eq 2
for s in xa-piu xb-piu xc-piu; do check "compose runs $s" grep -q "^  $s:" "$compose"; done
check "compose drops every capability" grep -q 'cap_drop: \[ALL\]' "$compose"
finish
