#!/usr/bin/env bash
# The systemd unit: systemd-analyze judges its exposure 2.0 or less (issue 7),
# it reloads with SIGHUP, checks the configuration before starting, and
# runs as its own user.
# Usage: systemd_unit.sh
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
unit=$top/deploy/systemd/piugwd.service
command -v systemd-analyze >/dev/null || { echo "systemd-analyze is missing (apt-get install systemd)"; exit 1; }
systemd-analyze security --offline=yes --no-pager "$unit" >"$dir/out" 2>"$dir/err"
level=$(sed -n 's/.*Overall exposure level for piugwd.service: \([0-9.]*\).*/\1/p' "$dir/out")
echo "exposure: ${level:-?}"
check "systemd-analyze rates the unit" test -n "$level"
check "exposure 2.0 or less" awk -v l="${level:-99}" 'BEGIN { exit !(l <= 2.0) }'
check "ExecReload sends SIGHUP" grep -q '^ExecReload=/bin/kill -HUP \$MAINPID' "$unit"
check "checks the configuration first" grep -q '^ExecStartPre=/usr/sbin/piugwd -n' "$unit"
check "its own user" grep -q '^User=piugw' "$unit"
check "no capabilities" grep -q '^CapabilityBoundingSet=$' "$unit"
check "writes only its state, and the agreements it installs" \
	grep -q '^ReadWritePaths=/var/lib/piugw -/etc/piugw/agreements$' "$unit"
check "its state is its own (0700)" grep -q '^StateDirectoryMode=0700$' "$unit"
check "and what it creates too (umask 077)" grep -q '^UMask=0077$' "$unit"
check "the operators' door is /run/piugw (0750)" sh -c "grep -q '^RuntimeDirectory=piugw$' '$unit' && grep -q '^RuntimeDirectoryMode=0750$' '$unit'"
check "sees who its operators are (no user namespace)" test -z "$(grep '^PrivateUsers=' "$unit")"

# The daily retention run: the same user (owner of the state folder), both
# purges, the installed paths, and as little exposure.
ret=$top/deploy/systemd/piugw-retention.service
systemd-analyze security --offline=yes --no-pager "$ret" >"$dir/out" 2>"$dir/err"
level=$(sed -n 's/.*Overall exposure level for piugw-retention.service: \([0-9.]*\).*/\1/p' "$dir/out")
echo "retention exposure: ${level:-?}"
check "retention: exposure 2.0 or less" awk -v l="${level:-99}" 'BEGIN { exit !(l <= 2.0) }'
check "retention: the gateway's user" grep -q '^User=piugw' "$ret"
check "retention: creates nothing others may read" grep -q '^UMask=0077$' "$ret"
check "retention: the store" grep -q '^ExecStart=/usr/bin/piugw store purge -c /etc/piugw/piugwd.yaml$' "$ret"
check "retention: the audit log" grep -q '^ExecStart=/usr/bin/piugw audit purge -c /etc/piugw/piugwd.yaml$' "$ret"
check "retention: a daily timer that catches up" sh -c "grep -q '^OnCalendar=daily' '$top/deploy/systemd/piugw-retention.timer' && grep -q '^Persistent=true' '$top/deploy/systemd/piugw-retention.timer'"
# The web console's unit: its own user, which reaches the local API and
# PAM's shadow passwords through its groups and nothing else.
web=$top/deploy/systemd/piugw-web.service
systemd-analyze security --offline=yes --no-pager "$web" >"$dir/out" 2>"$dir/err"
level=$(sed -n 's/.*Overall exposure level for piugw-web.service: \([0-9.]*\).*/\1/p' "$dir/out")
echo "piugw-web exposure: ${level:-?}"
check "piugw-web.service: exposure 2.0 or less" awk -v l="${level:-99}" 'BEGIN { exit !(l <= 2.0) }'
check "piugw-web.service: its own user" grep -q '^User=piugw-web$' "$web"
check "piugw-web.service: the operators' group and shadow" grep -q '^SupplementaryGroups=piugw shadow$' "$web"
check "piugw-web.service: checks its configuration first" grep -q '^ExecStartPre=/usr/sbin/piugw-web --check' "$web"
check "piugw-web.service: no capabilities, no new privileges" sh -c "grep -q '^CapabilityBoundingSet=\$' '$web' && grep -q '^NoNewPrivileges=yes\$' '$web'"
finish
