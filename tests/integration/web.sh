#!/usr/bin/env bash
# piugw-web (issue 22) over two real gateways, XA and XB, each with its
# console on 127.0.0.1, run as the user piugw-web that piugwd.yaml names
# in delegates. People are real accounts of this machine made for the test
# (PAM, /etc/pam.d/piugw-web as installed), in groups that give their
# roles; a national system signs in with a client certificate.
#
# Over HTTPS with curl: TLS 1.3 only; sign-in, the delay after a failure,
# cookie flags, CSRF; each role's refusals; an analyst's query and its hit;
# another operator cannot collect it; XB's analyst asks XA, an approver at
# XA approves, the analyst collects; the DPO searches the subject; a
# system's certificate, pinned, with its end user; a web process that is no
# delegate is refused by piugwd; the audit records "via piugw-web";
# every route is in doc/openapi.json and the other way round. Then the
# same story in headless Chromium (tests/browser/story.mjs, screenshots in
# $PIUGW_WEB_SHOTS or the build folder). No traveller's details and no
# password reach the web process's log.
# At the end, web_bench (tests/bench/web_bench.c): the same document queries
# through the local API and through /v1, PIUGW_WEB_BENCH_COUNT of each
# (default 200: a smoke; tests/bench/web runs more).
# Usage: web.sh PIUGW PIUGWD ROGUE PIUGW_WEB WEB_BENCH
set -u
piugw=$1 piugwd=$2 rogue=$3 web=$4 wbench=$5
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null || ! command -v curl >/dev/null ||
	! command -v jq >/dev/null || ! command -v openssl >/dev/null; then
	echo "web.sh: needs root (it makes the test's users), setpriv, curl, jq and openssl"
	exit 77
fi
. "$(dirname "$0")/lib.sh"
base=${PIUGW_TEST_PORT:-31101}
mkmesh_opts=--highest-rates # web_bench's queries are not to meet the example's hourly rates
. "$(dirname "$0")/meshlib.sh"
xa_port=$((base + 49)) xb_port=$((base + 50)) rogue_port=$((base + 51))

# ---- the machine's side: users, groups, PAM ----
groups=(pwt-operators pwt-approvers pwt-authorisers pwt-dpo pwt-admins)
declare -A role=([pwt-ana]=pwt-operators [pwt-ana2]=pwt-operators [pwt-apr]=pwt-approvers
	[pwt-dpo1]=pwt-dpo [pwt-adm]=pwt-admins [pwt-none]= [pwt-sys]=pwt-operators [pwt-rogueweb]=)
declare -A pw
made_web_user=0 made_pam=0
cleanup() {
	for p in "${pid[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null # userdel refuses a user whose process still runs
	for u in "${!role[@]}"; do userdel "$u" 2>/dev/null; done
	for g in "${groups[@]}"; do groupdel "$g" 2>/dev/null; done
	[ "$made_web_user" = 1 ] && userdel piugw-web 2>/dev/null
	[ "$made_pam" = 1 ] && rm -f /etc/pam.d/piugw-web
	[ -n "${PIUGW_TEST_KEEP:-}" ] && echo "kept: $dir" || rm -rf "$dir"
}
trap cleanup EXIT
for u in "${!role[@]}"; do userdel "$u" 2>/dev/null; done
for g in "${groups[@]}"; do groupdel "$g" 2>/dev/null; groupadd "$g"; done
if ! id piugw-web >/dev/null 2>&1; then
	useradd --system --no-create-home --shell /usr/sbin/nologin piugw-web && made_web_user=1
fi
usermod -a -G shadow piugw-web
if [ ! -e /etc/pam.d/piugw-web ]; then
	cp "$top/deploy/pam/piugw-web" /etc/pam.d/piugw-web && made_pam=1
fi
for u in "${!role[@]}"; do
	useradd --no-create-home --shell /usr/sbin/nologin ${role[$u]:+-G "${role[$u]}"} "$u"
	pw[$u]=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 16)
	echo "$u:${pw[$u]}" | chpasswd
done
usermod -a -G piugw-web,shadow pwt-rogueweb

# ---- certificates: the server's, and the national systems' ----
t=$dir/tls
mkdir -p "$t"
ossl() { openssl "$@" >/dev/null 2>&1; }
mkca() { ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$2" \
	-keyout "$t/$1.key" -out "$t/$1.crt" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign; }
mkcert() { # NAME CA CN [EXT]
	ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$3" -keyout "$t/$1.key" -out "$t/$1.csr"
	ossl x509 -req -in "$t/$1.csr" -CA "$t/$2.crt" -CAkey "$t/$2.key" -CAcreateserial -days 2 -out "$t/$1.crt" ${4:+-extfile "$4"}
}
mkca ca "test web CA"
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$t/server.ext"
mkcert server ca 127.0.0.1 "$t/server.ext"
mkca clients "national systems CA"
printf 'extendedKeyUsage=clientAuth\n' >"$t/client.ext"
mkcert gotravel clients gotravel "$t/client.ext"
mkcert other clients other-system "$t/client.ext"
mkca elsewhere "another CA"
mkcert stranger elsewhere stranger "$t/client.ext"
check "certificates made" test -s "$t/server.crt" -a -s "$t/gotravel.crt" -a -s "$t/stranger.crt"
cp "$t/server.key" "$t/rogue.key"
chown piugw-web "$t/server.key"
chown pwt-rogueweb "$t/rogue.key"
chmod 0600 "$t/server.key" "$t/rogue.key"
chmod 0755 "$t"
chmod o+x "$dir" "$m"

# ---- the gateways: piugw-web is their delegate, pwt-dpo an auditor ----
for id in XA-PIU XB-PIU; do
	printf 'delegates: [piugw-web]\nauditors: [pwt-dpo]\napprovers: [pwt-approvers]\n' >>"$(cfg "$id")"
	check "$id starts" start "$id"
	chmod o+x "$m/$id" "$m/$id/run"
	chgrp piugw-web "$m/$id/run/api.sock"
done
webconf() { # ID PORT KEY
	cat <<EOF
listen: 127.0.0.1:$2
local_api: ipc://$m/$1/run/api.sock
tls: {certificate: $t/server.crt, key: $t/$3.key, client_ca: $t/clients.crt}
roles: {operators: [pwt-operators], approvers: [pwt-approvers], authorisers: [pwt-authorisers],
        dpo: [pwt-dpo], admins: [pwt-admins]}
systems:
  - {name: gotravel, certificate: $t/gotravel.crt, account: pwt-sys}
EOF
}
webconf XA-PIU "$xa_port" server >"$dir/xa-web.yaml"
webconf XB-PIU "$xb_port" server >"$dir/xb-web.yaml"
webconf XA-PIU "$rogue_port" rogue >"$dir/rogue-web.yaml"
chmod 0644 "$dir"/*-web.yaml
check "piugw-web --check reads its configuration" "$web" --check -c "$dir/xa-web.yaml"
check "piugw-web refuses to run as root" test "$("$web" -c "$dir/xa-web.yaml" >"$dir/out" 2>"$dir/err"; echo $?)" -eq 4
check "  saying why" has "refusing to run as root"
startweb() { # NAME USER CONFIG
	setpriv --reuid="$2" --regid="$2" --init-groups "$web" -c "$3" >>"$dir/$1.log" 2>&1 &
	pid[$1]=$!
	wait_log "$1" "event=listening"
}
check "XA's console starts as piugw-web" startweb xa-web piugw-web "$dir/xa-web.yaml"
check "XB's console starts as piugw-web" startweb xb-web piugw-web "$dir/xb-web.yaml"
check "a console run by a user who is no delegate starts" startweb rogue-web pwt-rogueweb "$dir/rogue-web.yaml"

# ---- HTTPS with curl ----
# W JAR PORT METHOD PATH [CURL ARGS...]: the status; the body in $dir/w.json, headers in $dir/w.h.
W() {
	local jar=$dir/jar.$1 port=$2 method=$3 path=$4
	shift 4
	curl -sS -o "$dir/w.json" -D "$dir/w.h" -w '%{http_code}' --cacert "$t/ca.crt" -b "$jar" -c "$jar" \
		-X "$method" "$@" "https://127.0.0.1:$port$path" 2>"$dir/w.err"
}
J() { jq -r "$1" "$dir/w.json" 2>/dev/null; }
code() { J .error.code; }
json=(-H 'Content-Type: application/json')
signin() { # JAR PORT USER
	W "$1" "$2" POST /v1/session "${json[@]}" -d "{\"user\":\"$3\",\"password\":\"${pw[$3]}\"}"
}
csrf() { W "$1" "$2" GET /v1/session >/dev/null; J .csrf; }

check "plain HTTP is not served" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$xa_port/" 2>/dev/null)" != 200
check "TLS 1.2 is refused" test "$(curl -s -o /dev/null -w '%{http_code}' --tls-max 1.2 --cacert "$t/ca.crt" "https://127.0.0.1:$xa_port/" 2>/dev/null)" = 000
check "the console's page is served" test "$(W x "$xa_port" GET /)" = 200
check "  with a strict Content-Security-Policy" grep -qi "^content-security-policy: default-src 'none'; script-src 'self'" "$dir/w.h"
check "  HSTS" grep -qi "^strict-transport-security: max-age=31536000" "$dir/w.h"
check "  and no framing" grep -qi "^x-frame-options: DENY" "$dir/w.h"
check "app.js is served" test "$(W x "$xa_port" GET /app.js)" = 200

# The routes and the OpenAPI document agree, both ways.
"$web" --routes --json | jq -r '.[] | "\(.method) \(.path)"' | sort >"$dir/routes"
jq -r '.paths | to_entries[] | .key as $p | .value | keys[] | "\(ascii_upcase) \($p)"' "$top/doc/openapi.json" | sort >"$dir/documented"
check "every route is in doc/openapi.json and every path there is a route" diff "$dir/routes" "$dir/documented"
check "the roles in the document are the server's" diff \
	<("$web" --routes --json | jq -c '.[] | [.method, .path, .roles]' | sort) \
	<(jq -c '.paths | to_entries[] | .key as $p | .value | to_entries[] | [(.key | ascii_upcase), $p, .value["x-piugw-roles"]]' "$top/doc/openapi.json" | sort)
check "/v1/openapi.json is the committed document" test "$(W x "$xa_port" GET /v1/openapi.json)" = 200
check "  the same" test "$(jq -S . "$dir/w.json")" = "$(jq -S . "$top/doc/openapi.json")"

check "not signed in: 401" test "$(W x "$xa_port" GET /v1/pending)" = 401
check "  UNAUTHENTICATED" test "$(code)" = UNAUTHENTICATED
check "no such route: 404" test "$(W x "$xa_port" GET /v1/nothing)" = 404
check "a method the route has not: 405" test "$(W x "$xa_port" PUT /v1/session)" = 405

# Sign-in, and the delay after a failure.
check "a person with no role is turned away" test "$(signin none "$xa_port" pwt-none)" = 403
check "  told to ask for a role" grep -q "is in no group of piugw-web.yaml roles" "$dir/w.json"
check "a wrong password: 401" test "$(W none "$xa_port" POST /v1/session "${json[@]}" -d '{"user":"pwt-none","password":"wrong"}')" = 401
check "  SIGN_IN_FAILED" test "$(code)" = SIGN_IN_FAILED
check "the right one at once after: 429" test "$(signin none "$xa_port" pwt-none)" = 429
check "  with Retry-After" grep -qi "^retry-after: [12]" "$dir/w.h"
check "an unknown user: the same 401" test "$(W none "$xa_port" POST /v1/session "${json[@]}" -d '{"user":"pwt-nobody-here","password":"x"}')" = 401
check "a malformed sign-in: 400" test "$(W none "$xa_port" POST /v1/session "${json[@]}" -d '{"user":"pwt-ana"}')" = 400
check "not JSON: 415" test "$(W none "$xa_port" POST /v1/session -H 'Content-Type: text/plain' -d 'user=a')" = 415
check "broken JSON: 400" test "$(W none "$xa_port" POST /v1/session "${json[@]}" -d '{"user":')" = 400
head -c 70000 /dev/zero | tr '\0' 'a' >"$dir/big"
check "a body over 64 KiB: 413" test "$(W none "$xa_port" POST /v1/session "${json[@]}" --data-binary @"$dir/big")" = 413

check "the analyst signs in at XA" test "$(signin ana "$xa_port" pwt-ana)" = 200
check "  as an operator" test "$(J '.roles | join(",")')" = operators
check "  the cookie is HttpOnly, Secure and SameSite=Strict" grep -qi "^set-cookie: piugw_session=[0-9a-f]\{64\}; Path=/; Secure; HttpOnly; SameSite=Strict" "$dir/w.h"
ana_csrf=$(J .csrf)
Q='{"to":"XB-PIU","purpose":"terrorism","case_reference":"CASE-W1","justification":"a known associate","document":{"number":"P1234567","issuing_state":"XAA"}}'
check "a change without the CSRF token: 403" test "$(W ana "$xa_port" POST /v1/queries "${json[@]}" -d "$Q")" = 403
check "  CSRF" test "$(code)" = CSRF
check "  nor with another's" test "$(W ana "$xa_port" POST /v1/queries "${json[@]}" -H "X-CSRF-Token: $(printf '%064d' 0)" -d "$Q")" = 403
check "the analyst asks XB" test "$(W ana "$xa_port" POST /v1/queries "${json[@]}" -H "X-CSRF-Token: $ana_csrf" -d "$Q")" = 200
check "  a hit" test "$(J '.answers[0].result.status')" = hit
check "  John Doe's identity" test "$(J '.answers[0].result.matches[0].api_identity.surname')" = DOE
r1=$(J '.answers[0].request_id')
check "  an unknown key is refused, named" test "$(W ana "$xa_port" POST /v1/queries "${json[@]}" -H "X-CSRF-Token: $ana_csrf" -d '{"to":"XB-PIU","purpose":"terrorism","documnet":{}}')" = 400
check "    documnet" grep -q "unknown key 'documnet' in a query" "$dir/w.json"
check "  a purpose the terms do not allow: refused here, with the CLI's code" test "$(W ana "$xa_port" POST /v1/queries "${json[@]}" -H "X-CSRF-Token: $ana_csrf" -d '{"to":"XB-PIU","purpose":"immigration","case_reference":"C","justification":"j","document":{"number":"P1234567","issuing_state":"XAA"}}')" = 200
check "    PURPOSE_NOT_ALLOWED" test "$(J '.answers[0].error.code')" = PURPOSE_NOT_ALLOWED
check "an answer handed over is not kept to collect again" test "$(W ana "$xa_port" GET "/v1/queries/$r1")" = 404
check "  UNKNOWN_QUERY, as piugw results says" test "$(code)" = UNKNOWN_QUERY
check "an operator sees no approval queue" test "$(W ana "$xa_port" GET /v1/pending)" = 403
check "  FORBIDDEN, saying which role" grep -q "pwt-ana is not in a group of approvers or authorisers" "$dir/w.json"
check "  no status" test "$(W ana "$xa_port" GET /v1/status)" = 403
check "  no audit search" test "$(W ana "$xa_port" POST /v1/audit/subject "${json[@]}" -H "X-CSRF-Token: $ana_csrf" -d '{"document":"P1234567","issuer":"XAA"}')" = 403
check "  agreements, with what may be asked" test "$(W ana "$xa_port" GET /v1/agreements)" = 200
check "    XA-XB: terrorism and serious_crime by document, name, name_fuzzy, locator" test \
	"$(J '.agreements[] | select(.peer == "XB-PIU") | (.ask_purposes | join(",")) + " " + (.ask_query_types | join(","))')" = \
	"terrorism,serious_crime document,name,name_fuzzy,locator"


# XB's analyst asks XA, whose terms want a person's approval; XA's approver approves.
check "the analyst signs in at XB" test "$(signin anb "$xb_port" pwt-ana)" = 200
anb_csrf=$(J .csrf)
Q2='{"to":"XA-PIU","purpose":"terrorism","case_reference":"CASE-W2","justification":"travel pattern","document":{"number":"P1234567","issuing_state":"XAA"}}'
check "XB's analyst asks XA" test "$(W anb "$xb_port" POST /v1/queries "${json[@]}" -H "X-CSRF-Token: $anb_csrf" -d "$Q2")" = 200
check "  held for approval at XA" test "$(J '.answers[0].outcome')" = waiting
r2=$(J '.answers[0].request_id')
check "another operator signs in at XB" test "$(signin ana2 "$xb_port" pwt-ana2)" = 200
check "  cannot collect the analyst's answer" test "$(W ana2 "$xb_port" GET "/v1/queries/$r2")" = 404
check "    sent by another operator" grep -q "sent by another operator" "$dir/w.json"
check "the approver signs in at XA" test "$(signin apr "$xa_port" pwt-apr)" = 200
apr_csrf=$(J .csrf)
check "  sees the request" test "$(W apr "$xa_port" GET /v1/pending)" = 200
ref=$(J '.items[] | select(.case_reference == "CASE-W2") | .approval_ref')
check "    with its case and purpose" test -n "$ref" -a "$(J '.items[0].purpose')" = terrorism
check "  a denial needs a reason" test "$(W apr "$xa_port" POST "/v1/pending/$ref/deny" "${json[@]}" -H "X-CSRF-Token: $apr_csrf" -d '{}')" = 400
check "  approves" test "$(W apr "$xa_port" POST "/v1/pending/$ref/approve" "${json[@]}" -H "X-CSRF-Token: $apr_csrf" -d '{}')" = 200
check "    a hit" test "$(J .status)" = hit
check "  cannot ask" test "$(W apr "$xa_port" POST /v1/queries "${json[@]}" -H "X-CSRF-Token: $apr_csrf" -d "$Q")" = 403
check "XB's analyst collects" test "$(W anb "$xb_port" GET "/v1/queries/$r2?wait=20")" = 200
check "  the hit" test "$(J '.answers[0].result.status')" = hit

# The DPO searches the subject at XA.
check "the DPO signs in at XA" test "$(signin dpo "$xa_port" pwt-dpo1)" = 200
dpo_csrf=$(J .csrf)
check "  searches John Doe's document" test "$(W dpo "$xa_port" POST /v1/audit/subject "${json[@]}" -H "X-CSRF-Token: $dpo_csrf" -d '{"document":"P1234567","issuer":"XAA"}')" = 200
check "    XA's query sent, by the analyst via piugw-web" test "$(J '[.records[] | select(.event == "query_sent" and .operator == "pwt-ana" and .via == "via piugw-web")] | length')" -ge 1
check "    XB's query received, decided by the approver via piugw-web" test "$(J '[.records[] | select(.operator == "pwt-apr" and .via == "via piugw-web")] | length')" -ge 1
check "    no digests sent back" test "$(J '[.records[] | select(.subject_digests)] | length')" = 0
check "  the search is in the history from then on" test "$(W dpo "$xa_port" POST /v1/audit/subject "${json[@]}" -H "X-CSRF-Token: $dpo_csrf" -d '{"document":"P1234567","issuer":"XAA"}')" = 200
check "    subject searched, by the DPO via piugw-web" test "$(J '[.records[] | select(.event == "subject_searched" and .operator == "pwt-dpo1" and .via == "via piugw-web")] | length')" = 1
check "  needs a document and issuer, or a name and date of birth" test "$(W dpo "$xa_port" POST /v1/audit/subject "${json[@]}" -H "X-CSRF-Token: $dpo_csrf" -d '{"document":"P1234567"}')" = 400
check "  cannot ask" test "$(W dpo "$xa_port" POST /v1/queries "${json[@]}" -H "X-CSRF-Token: $dpo_csrf" -d "$Q")" = 403
today=$(date -u +%F)
check "the DPO opens today's oversight report" test "$(W dpo "$xa_port" GET "/v1/audit/report?from=$today&to=$today")" = 200
check "  an HTML page" grep -qi "^content-type: text/html" "$dir/w.h"
check "  with its own inline style only, no script" grep -qi "^content-security-policy: default-src 'none'; style-src 'unsafe-inline'" "$dir/w.h"
check "  the exchanges with XB" grep -q "XB-PIU" "$dir/w.json"
check "  counts only: no traveller, case or operator" test "$(grep -c -e DOE -e P1234567 -e CASE-W -e pwt-ana "$dir/w.json")" -eq 0
check "  as CSV, saved" test "$(W dpo "$xa_port" GET "/v1/audit/report?from=$today&to=$today&format=csv")" = 200
check "    attachment oversight-report-$today-$today.csv" grep -qi "^content-disposition: attachment; filename=\"oversight-report-$today-$today.csv\"" "$dir/w.h"
check "  a period that is no date: 400" test "$(W dpo "$xa_port" GET "/v1/audit/report?from=yesterday")" = 400
check "the analyst may not make it" test "$(signin ana3 "$xa_port" pwt-ana)" = 200 -a "$(W ana3 "$xa_port" GET "/v1/audit/report?from=$today")" = 403
check "the admin signs in" test "$(signin adm "$xa_port" pwt-adm)" = 200
check "  sees the status" test "$(W adm "$xa_port" GET /v1/status)" = 200
check "    XA-PIU's" test "$(J .gateway_id)" = XA-PIU
check "  and the partners" test "$(W adm "$xa_port" GET /v1/peers)" = 200
check "  cannot approve" test "$(W adm "$xa_port" GET /v1/pending)" = 403
check "the analyst signs out" test "$(W ana "$xa_port" DELETE /v1/session -H "X-CSRF-Token: $ana_csrf")" = 200
check "  and is signed out" test "$(W ana "$xa_port" GET /v1/session)" = 401

# A national system, by its client certificate.
S() { W sys "$xa_port" "$1" "$2" --cert "$t/$3.crt" --key "$t/$3.key" "${@:4}"; }
check "the system's certificate signs it in" test "$(S GET /v1/session gotravel -H 'X-PIU-End-User: U-4711')" = 200
check "  as system gotravel, user U-4711" test "$(J '.system + " " + .end_user')" = "gotravel U-4711"
check "  it asks, without a CSRF token (no cookie)" test "$(S POST /v1/queries gotravel -H 'X-PIU-End-User: U-4711' "${json[@]}" -d "$Q")" = 200
check "    a hit" test "$(J '.answers[0].result.status')" = hit
check "  without naming its end user: 400" test "$(S GET /v1/session gotravel)" = 400
check "  its account's role only (operators)" test "$(S GET /v1/pending gotravel -H 'X-PIU-End-User: U-4711')" = 403
check "another certificate of the same issuer, not pinned: 403" test "$(S GET /v1/session other -H 'X-PIU-End-User: U-1')" = 403
check "  UNKNOWN_SENDER" grep -q "not one of piugw-web.yaml systems" "$dir/w.json"
check "a certificate of another issuer: 403" test "$(S GET /v1/session stranger -H 'X-PIU-End-User: U-1')" = 403
check "  it does not verify" grep -q "does not verify" "$dir/w.json"
"$piugw" audit show -c "$(cfg XA-PIU)" --json --event query_sent >"$dir/xa-audit.json" 2>/dev/null
check "XA's audit: the system's query, its end user named" test \
	"$(jq '[.events[] | select(.operator == "pwt-sys" and .via == "via piugw-web, system gotravel, user U-4711")] | length' "$dir/xa-audit.json")" -ge 1

# piugwd takes "on behalf of" only from its delegates.
check "a person signs in at the console of a user who is no delegate" test "$(signin rg "$rogue_port" pwt-ana)" = 200
check "  piugwd refuses what it asks for her" test "$(W rg "$rogue_port" GET /v1/agreements)" = 403
check "    pwt-rogueweb may not act for another user" grep -q "pwt-rogueweb may not act for another user: only piugwd.yaml delegates may" "$dir/w.json"

# ---- the same story in a browser ----
shots=${PIUGW_WEB_SHOTS:-$dir/shots}
mkdir -p "$shots"
if [ -d "$top/tests/browser/node_modules/playwright-core" ] && command -v chromium >/dev/null; then
	PW_ANA=${pw[pwt-ana]} PW_APR=${pw[pwt-apr]} PW_DPO=${pw[pwt-dpo1]} \
		check "the demo's story in Chromium" node "$top/tests/browser/story.mjs" \
		"https://127.0.0.1:$xa_port" "https://127.0.0.1:$xb_port" "$shots" >"$dir/story.log" 2>&1 ||
		cat "$dir/story.log"
	grep '^ok\|^not ok' "$dir/story.log"
else
	check "playwright-core is installed (tests/run installs it) and chromium" false
fi

# ---- what the API adds to a query ----
check "web_bench: document queries through the local API and through /v1, alternating" \
	"$wbench" --api "ipc://$m/XA-PIU/run/api.sock" --port "$xa_port" --ca "$t/ca.crt" \
	--cert "$t/gotravel.crt" --key "$t/gotravel.key" --to XB-PIU --document P1234567 --issuer XAA \
	--count "${PIUGW_WEB_BENCH_COUNT:-200}" --web-pid "${pid[xa-web]}" >"$dir/bench.txt" 2>&1
sed 's/^/  /' "$dir/bench.txt"

# ---- nothing personal in the web processes' logs ----
check "no traveller's name or document in the web logs" test "$(cat "$dir"/*-web.log | grep -c -e DOE -e P1234567 -e JOHN)" -eq 0
for u in pwt-ana pwt-apr pwt-dpo1 pwt-none; do
	check "  no password of $u" test "$(cat "$dir"/*-web.log | grep -c -F "${pw[$u]}")" -eq 0
done
check "the web logs record requests by route" grep -q "event=request method=POST route=/v1/queries status=200 user=pwt-ana" "$dir/xa-web.log"
for id in xa-web xb-web rogue-web; do check "$id stops on SIGTERM" stop "$id"; done
for id in XA-PIU XB-PIU; do
	check "$id stops" stop "$id"
	check "$id's audit log verifies" test "$("$piugw" audit verify -c "$(cfg "$id")" >/dev/null 2>&1; echo $?)" -eq 0
done
finish
