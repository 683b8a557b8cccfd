#!/usr/bin/env bash
# e2e.dashboard: the dashboard in Debian's headless chromium against a real
# fleet: cronfleet-clock, cronfleet-testsvc as "ingest" (a job of ~3 s and
# a job that fails), cronfleet-gateway with named admin and viewer tokens,
# on the real PostgreSQL and Redis (DATABASE_URL, REDIS_URL: scripts/test).
# dashboard.mjs drives the page (see there); this script starts the
# fleet, checks what the gateway sends with the page (types, security
# headers, asset names), restarts the gateway when the page asks (its
# SIGTERM must not hang on the open event stream; the page must reconnect
# by itself), and checks that the runs the page showed are rows in the
# service's job_runs.
#
#   run.sh <build/bin> <screenshot.png>
#
# Fails, not skips, without chromium or playwright-core: scripts/test
# installs both (scripts/lib/browser.sh).
set -u
bindir=${1:?usage: run.sh build/bin screenshot.png}
shot=${2:?usage: run.sh build/bin screenshot.png}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../integration/test_service_lib.sh"
: "${DATABASE_URL:?DATABASE_URL is not set: run through scripts/test}"
: "${REDIS_URL:?REDIS_URL is not set: run through scripts/test}"
chromium=${CHROMIUM:-/usr/bin/chromium}

if [ ! -x "$chromium" ]; then
	echo "FAIL $chromium is missing: scripts/test installs it (scripts/lib/browser.sh cf_install_browser)"
	exit 1
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
	echo "FAIL playwright-core is missing: run 'npm ci' in $here (scripts/lib/browser.sh does)"
	exit 1
fi

# Ten ports from this test's band, 5500-5999 (tests/CMakeLists.txt), the
# first free slot from the pid's on.
for k in $(seq 0 49); do
	base=$((5500 + ((($$ + k) % 50)) * 10))
	ports_free $base $((base + 9)) && break
done
T=$(mktemp -d)
S=ingest_dash_$$
export CRONFLEET_LOG_LEVEL=info
export CRONFLEET_CLOCK_REP=tcp://127.0.0.1:$base
export CRONFLEET_CLOCK_PUB=tcp://127.0.0.1:$((base + 1))
export CRONFLEET_INGEST_REP=tcp://127.0.0.1:$((base + 2))
export CRONFLEET_INGEST_PUB=tcp://127.0.0.1:$((base + 3))
export CRONFLEET_GATEWAY_ADDR=127.0.0.1:$((base + 4))
export CRONFLEET_CLOCK_SCHEMA=clock_dash_$$
export CRONFLEET_INGEST_SCHEMA=$S
export CRONFLEET_GATEWAY_SCHEMA=gateway_dash_$$
export CRONFLEET_SERVICES=ingest
export CF_TESTSVC_NAME=ingest
admin=dash-admin-$$-$RANDOM
viewer=dash-viewer-$$-$RANDOM
export CRONFLEET_ADMIN_TOKENS="alice:$admin"
export CRONFLEET_VIEWER_TOKENS="grafana:$viewer"
job_ok=energy-sync
job_fail=plant-sync
# energy-sync: every 15 minutes in Berlin, 3 s of work; plant-sync: only
# by hand, every attempt fails, no retries.
export CF_TESTSVC_JOBS="$job_ok|*/15 * * * *|work=3000,tz=Europe/Berlin;$job_fail|-|fail=99,retries=0,work=200"
gw=http://$CRONFLEET_GATEWAY_ADDR

gw_pid=
cleanup() {
	for p in "${pids[@]}" $gw_pid; do own_kill TERM "$p"; done
	sleep 0.5
	for p in "${pids[@]}" $gw_pid; do own_kill KILL "$p"; done
	wait 2>/dev/null
	psql -q "$DATABASE_URL" -c "DROP SCHEMA IF EXISTS $CRONFLEET_CLOCK_SCHEMA CASCADE; DROP SCHEMA IF EXISTS $S CASCADE; DROP SCHEMA IF EXISTS $CRONFLEET_GATEWAY_SCHEMA CASCADE" >/dev/null 2>&1
	redis-cli -u "$REDIS_URL" DEL "cronfleet:clock:leader:$CRONFLEET_CLOCK_SCHEMA" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

start_clock
"$bindir/cronfleet-testsvc" 2>>"$T/ingest.log" &
pids+=($!)
poll 30 sh -c "nngcat --req --dial $CRONFLEET_INGEST_REP --ascii --data ping 2>/dev/null | grep -q pong" ||
	bad "ingest does not answer"
poll 60 registered "$job_ok" && poll 10 registered "$job_fail" || bad "jobs not registered with the clock"
start_gateway() {
	"$bindir/cronfleet-gateway" 2>>"$T/gateway.log" &
	gw_pid=$!
	poll 30 curl -fs -o /dev/null "$gw/healthz" || bad "the gateway does not answer"
}

# The page asks (a line "restart-gateway") while its event stream is
# open: SIGTERM must end the gateway promptly with the stream open, and
# the page must find the new one by itself.
restart_gateway() {
	local i rc
	own_kill TERM "$gw_pid"
	for i in $(seq 100); do
		kill -0 "$gw_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$gw_pid" 2>/dev/null; then
		bad "the gateway did not exit within 10 s of SIGTERM with a stream open"
		own_kill KILL "$gw_pid"
	fi
	wait "$gw_pid"
	rc=$?
	[ $rc -eq 0 ] && ok "gateway exits 0 on SIGTERM with the page's stream open" ||
		bad "gateway exit status $rc on SIGTERM"
	start_gateway
	touch "$T/restarted"
}

start_gateway

# What comes with the page: types and the security headers.
hdr() { curl -sS -o /dev/null -D - "$gw$1" | tr -d '\r'; }
h=$(hdr /admin/scheduler)
grep -q '^HTTP/1.1 200' <<<"$h" && grep -qi '^content-type: text/html' <<<"$h" &&
	ok "GET /admin/scheduler: 200 text/html" || bad "GET /admin/scheduler: $h"
grep -qi "^content-security-policy: .*default-src 'self'" <<<"$h" &&
	ok "Content-Security-Policy default-src 'self'" || bad "no CSP on the page: $h"
grep -qi '^content-security-policy: .*unsafe-inline' <<<"$h" && bad "CSP allows inline code" ||
	ok "CSP allows no inline script or style"
grep -qi '^x-content-type-options: nosniff' <<<"$h" && ok "nosniff" || bad "no X-Content-Type-Options: $h"
for a in app.js:text/javascript app.css:text/css favicon.svg:image/svg+xml; do
	h=$(hdr "/admin/scheduler/${a%%:*}")
	grep -q '^HTTP/1.1 200' <<<"$h" && grep -qi "^content-type: ${a#*:}" <<<"$h" &&
		ok "${a%%:*}: ${a#*:}" || bad "${a%%:*}: $h"
done
for a in nope.js .hidden '..%2Fweb.c' 'a%20b'; do
	code=$(curl -sS -o /dev/null -w '%{http_code}' "$gw/admin/scheduler/$a")
	[ "$code" = 404 ] && ok "asset '$a': 404" || bad "asset '$a': $code"
done
# No CDN: every URL the page and its code load is the gateway's own.
ext=$(curl -sS "$gw/admin/scheduler" "$gw/admin/scheduler/app.js" "$gw/admin/scheduler/app.css" |
	grep -oE '(src|href)=["'"'"'][^"'"'"']*|url\([^)]*|https?://[^"'"'"' )]*' | grep -E 'https?://|//' || true)
[ -z "$ext" ] && ok "no external URL in the page" || bad "external URLs: $ext"
# Data reaches the page as text only (app.js's rule): no HTML parsing of
# strings anywhere in the code.
html=$(curl -sS "$gw/admin/scheduler/app.js" | grep -nE 'innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function' || true)
[ -z "$html" ] && ok "app.js parses no strings as HTML or code" || bad "app.js: $html"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$gw/api/v1/openapi.json")
ct=$(curl -sS -o /dev/null -w '%{content_type}' "$gw/api/v1/openapi.json")
[ "$code" = 200 ] && [[ $ct == application/json* ]] && ok "openapi.json: 200 $ct" || bad "openapi.json: $code $ct"

# The browser, in the background so that this script can restart the
# gateway when the page asks; its lines are shown as they come.
: >"$T/browser.out"
GW_URL=$gw ADMIN_TOKEN=$admin VIEWER_TOKEN=$viewer SCREENSHOT=$shot \
	JOB_OK=$job_ok JOB_FAIL=$job_fail CHROMIUM=$chromium \
	RESTART_FLAG=$T/restarted \
	node "$here/dashboard.mjs" >>"$T/browser.out" 2>&1 &
node_pid=$!
tail -n +1 -f --pid=$node_pid "$T/browser.out" &
tail_pid=$!
while kill -0 $node_pid 2>/dev/null; do
	if [ ! -e "$T/restarted" ] && grep -q '^restart-gateway' "$T/browser.out"; then
		restart_gateway
	fi
	sleep 0.2
done
wait $node_pid
[ $? -eq 0 ] || fails=$((fails + 1))
wait $tail_pid

# The runs the page showed are the service's rows.
while read -r _ job fid; do
	want=succeeded
	[ "$job" = "$job_fail" ] && want=failed
	got=$(sql "SELECT trigger || ':' || status FROM $S.job_runs WHERE fire_id = '$fid' AND final")
	[ "$got" = "manual:$want" ] && ok "job_runs: $job $fid manual:$want" || bad "job_runs for $job $fid: '$got'"
done < <(grep '^fire ' "$T/browser.out")
grep -q "^fire $job_ok " "$T/browser.out" || bad "the page never showed a fire id"
[ -s "$shot" ] && ok "screenshot saved ($(stat -c %s "$shot") bytes)" || bad "no screenshot at $shot"

for p in "${pids[@]}" $gw_pid; do
	kill -0 "$p" 2>/dev/null || bad "a process of the fleet died (pid $p)"
done
svc_finish
