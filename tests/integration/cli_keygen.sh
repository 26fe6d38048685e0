#!/usr/bin/env bash
# piugw keygen as an administrator uses it: files, modes, refusals, exit codes.
# Usage: cli_keygen.sh PATH-TO-piugw
set -u
piugw=$1
. "$(dirname "$0")/lib.sh"
umask 022

"$piugw" keygen --id XA-PIU --out "$dir/certs" >"$dir/out" 2>"$dir/err"; rc=$?
check "keygen succeeds" test "$rc" -eq 0
check "public file written" test -f "$dir/certs/XA-PIU.cert"
check "secret file mode 0600" test "$(stat -c %a "$dir/certs/XA-PIU.cert_secret")" = 600
check "public file mode 0644" test "$(stat -c %a "$dir/certs/XA-PIU.cert")" = 644
check "new directory mode 0700" test "$(stat -c %a "$dir/certs")" = 700
check "output names the files" grep -q "XA-PIU.cert_secret" "$dir/out"
check "public file has no secret" bash -c "! grep -q secret-key '$dir/certs/XA-PIU.cert'"
check "secret file has both secrets" test "$(grep -c 'secret-key = ' "$dir/certs/XA-PIU.cert_secret")" -eq 2

before=$(sha256sum "$dir/certs/XA-PIU.cert_secret")
"$piugw" keygen --id XA-PIU --out "$dir/certs" >/dev/null 2>"$dir/err"; rc=$?
check "overwrite refused with exit 1" test "$rc" -eq 1
check "refusal says why" grep -q "refusing to overwrite" "$dir/err"
check "secret untouched" test "$(sha256sum "$dir/certs/XA-PIU.cert_secret")" = "$before"

"$piugw" keygen --id xa-piu --out "$dir/certs" >/dev/null 2>"$dir/err"; rc=$?
check "bad id is misuse (exit 2)" test "$rc" -eq 2
check "bad id message" grep -q "is not a gateway id" "$dir/err"
"$piugw" keygen --out "$dir/certs" >/dev/null 2>&1; rc=$?
check "missing --id is misuse" test "$rc" -eq 2
"$piugw" keygen --id XB-PIU --bogus >/dev/null 2>&1; rc=$?
check "unknown option is misuse" test "$rc" -eq 2
"$piugw" keygen --help >"$dir/help" 2>&1; rc=$?
check "--help exits 0" test "$rc" -eq 0
check "--help prints usage to stdout" grep -q "Usage: piugw keygen" "$dir/help"
"$piugw" --help >"$dir/help" 2>&1; rc=$?
check "piugw --help exits 0" test "$rc" -eq 0
"$piugw" nosuchverb >/dev/null 2>&1; rc=$?
check "unknown verb is misuse" test "$rc" -eq 2

"$piugw" keygen --id XB-PIU --out "$dir/certs" --json >"$dir/json" 2>&1; rc=$?
check "--json succeeds" test "$rc" -eq 0
check "--json names the gateway" grep -q '"gateway_id": "XB-PIU"' "$dir/json"
check "--json names the secret file" grep -q '"cert_secret": ".*/XB-PIU.cert_secret"' "$dir/json"

finish
