#!/usr/bin/env bash
# test_gateway_roles.sh - the gateway for people, through the real path:
# cronfleet-clock, cronfleet-testsvc (as "ingest") and cronfleet-gateway
# on the real PostgreSQL, driven with curl.
#
# Who may do what (no token, a viewer token, an admin token, the cron
# secret) on every route; PUT schedule and its errors naming the field;
# the seeds' /api/admin/jobs and /api/cron/{job}; the audit table and
# GET /api/v1/audit; bad input (JSON, size, route, method, job); a
# stopped or dead service (504, 503, naming it); the slow-down of an
# address that keeps sending wrong tokens; SIGTERM.
#
# Usage: test_gateway_roles.sh <bin dir>. Needs DATABASE_URL.
set -u
bindir=$1
here=$(dirname "$0")
. "$here/test_service_lib.sh"

svc_setup 8500 roles
G=http://127.0.0.1:$((base + 5))
GW_SCHEMA=gw_roles_$$
ADM=adm-$$-$RANDOM$RANDOM
ADM2=ci-$$-$RANDOM$RANDOM
VW=view-$$-$RANDOM$RANDOM
CS=cron-$$-$RANDOM$RANDOM
export CF_TESTSVC_NAME=ingest
export CRONFLEET_INGEST_SCHEMA=$S
export CRONFLEET_INGEST_REP=tcp://127.0.0.1:$((base + 2))
export CRONFLEET_INGEST_PUB=tcp://127.0.0.1:$((base + 3))
export CF_TESTSVC_JOBS="quick|-|work=50;slowjob|-|work=4000;bad|-|fail=9,retries=0;hourly|0 * * * *|"
export CRONFLEET_SERVICES=ingest
export CRONFLEET_GATEWAY_ADDR=127.0.0.1:$((base + 5))
export CRONFLEET_GATEWAY_SCHEMA=$GW_SCHEMA
export CRONFLEET_ADMIN_TOKENS="ops:$ADM,ci:$ADM2"
export CRONFLEET_VIEWER_TOKENS="ro:$VW"
export CRONFLEET_CRON_WAIT=2s
export CRONFLEET_GATEWAY_TIMEOUT=1500ms
unset CRONFLEET_ADMIN_TOKEN

gw_cleanup() {
	psql -q "$DATABASE_URL" -c "DROP SCHEMA IF EXISTS $GW_SCHEMA CASCADE" >/dev/null 2>&1
	svc_cleanup
}
trap gw_cleanup EXIT

start_gateway() {
	env "$@" "$bindir/cronfleet-gateway" 2>>"$T/gateway.log" &
	gw_pid=$!
	pids+=($gw_pid)
	poll 30 curl -sf -o /dev/null "$G/healthz" || bad "the gateway does not answer"
}

stop_gateway() {
	own_kill TERM "$gw_pid"
	wait "$gw_pid"
	rc=$?
	[ $rc -eq 0 ] || bad "gateway exited $rc after SIGTERM"
}

# call <method> <path> <token|-> [body]: prints the status; the body is
# in $T/body, the headers in $T/headers.
call() {
	local m=$1 p=$2 tok=$3 args=()
	[ "$tok" != - ] && args+=(-H "Authorization: Bearer $tok")
	[ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
	curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' -X "$m" \
		"${args[@]}" "$G$p"
}

# expect <status> <method> <path> <token|-> [body]
expect() {
	local want=$1 got
	shift
	got=$(call "$@")
	if [ "$got" = "$want" ]; then
		ok "$1 $2 as $(who "$3") -> $want"
	else
		bad "$1 $2 as $(who "$3") -> $got, expected $want: $(head -c 300 "$T/body")"
	fi
}

who() {
	case $1 in
	-) echo nobody ;; "$ADM" | "$ADM2") echo admin ;; "$VW") echo viewer ;;
	"$CS") echo cron ;; *) echo "a wrong token" ;;
	esac
}

body_has() {
	if grep -q -- "$1" "$T/body"; then ok "$2"; else bad "$2: body $(head -c 300 "$T/body")"; fi
}

jq_py() { python3 -c "import json,sys; d=json.load(open('$T/body')); print($1)"; }

start_clock
"$bindir/cronfleet-testsvc" 2>>"$T/ingest.log" &
svc_pid=$!
svc_pids+=($svc_pid)
poll 30 sh -c "nngcat --req --dial $CRONFLEET_INGEST_REP --ascii --data ping 2>/dev/null | grep -q pong" ||
	bad "ingest does not answer"
wait_registered hourly || bad "jobs not registered"
start_gateway CRON_SECRET="$CS"

echo "# who may read"
for p in /api/v1/scheduler/status /api/scheduler/status /api/v1/scheduler/tasks \
	/api/v1/scheduler/next-sync-times "/api/v1/scheduler/history?job=quick" \
	/api/v1/jobs /api/v1/jobs/quick /api/admin/jobs /api/v1/admin/jobs \
	/api/v1/audit /api/v1/whoami; do
	expect 401 GET "$p" -
	expect 401 GET "$p" "wrong-$$"
	expect 200 GET "$p" "$VW"
	expect 200 GET "$p" "$ADM"
	expect 403 GET "$p" "$CS"
done
grep -qi '^WWW-Authenticate: Bearer' "$T/headers" || true
expect 401 GET /api/v1/jobs -
grep -qi '^WWW-Authenticate: Bearer' "$T/headers" && ok "401 says WWW-Authenticate: Bearer" ||
	bad "401 without WWW-Authenticate"
for p in /healthz /readyz /api/v1/openapi.json /admin/scheduler; do
	got=$(call GET "$p" -)
	[ "$got" != 401 ] && [ "$got" != 403 ] && ok "GET $p needs no token ($got)" ||
		bad "GET $p -> $got without a token"
done
expect 200 GET /api/v1/whoami "$VW"
body_has '"name":"ro","role":"viewer"' "whoami names the viewer"
expect 200 GET /api/v1/whoami "$ADM2"
body_has '"name":"ci","role":"admin"' "whoami names the second admin"

echo "# who may act"
for spec in "POST /api/v1/scheduler/trigger/quick" "POST /api/scheduler/trigger/quick" \
	"POST /api/v1/jobs/quick/trigger" "POST /api/v1/jobs/hourly/pause" \
	"POST /api/v1/jobs/hourly/resume" "POST /api/v1/scheduler/stop" \
	"POST /api/v1/scheduler/start"; do
	set -- $spec
	expect 401 "$1" "$2" -
	expect 403 "$1" "$2" "$VW"
	expect 403 "$1" "$2" "$CS"
	expect 200 "$1" "$2" "$ADM"
done
body_has '"scheduler":"running"' "the scheduler runs again after start"
expect 403 POST /api/admin/jobs "$VW" '{"jobName":"quick"}'
expect 200 POST /api/admin/jobs "$ADM" '{"jobName":"quick"}'
body_has '"message":"Job '"'"'quick'"'"' triggered"' "admin/jobs says the job was triggered"
expect 403 PUT /api/v1/jobs/hourly/schedule "$VW" '{"schedule":"5 * * * *"}'
[ "$(sql "SELECT expr FROM $CRONFLEET_CLOCK_SCHEMA.schedules WHERE job = 'hourly'")" = "0 * * * *" ] &&
	ok "a viewer's schedule change changed nothing" || bad "a viewer changed the schedule"

echo "# PUT schedule"
expect 400 PUT /api/v1/jobs/hourly/schedule "$ADM" '{"schedule":"61 * * * *"}'
body_has 'schedule: minute: 61 is out of range 0-59' "a bad minute names the field"
expect 400 PUT /api/v1/jobs/hourly/schedule "$ADM" '{"schedule":"0 0 31 2 *"}'
body_has '"error":"schedule: ' "a schedule that never fires is refused"
expect 400 PUT /api/v1/jobs/hourly/schedule "$ADM" '{"cron":"5 * * * *"}'
body_has 'schedule: expected a cron expression' "a missing schedule names the field"
expect 400 PUT /api/v1/jobs/hourly/schedule "$ADM" '{"schedule":"5 * * * *","timezone":"Mars/Olympus"}'
body_has 'timezone: ' "a bad zone names the field"
expect 400 PUT /api/v1/jobs/hourly/schedule "$ADM"
body_has 'request body required' "no body is refused"
expect 404 PUT /api/v1/jobs/nosuchjob/schedule "$ADM" '{"schedule":"5 * * * *"}'
expect 200 PUT /api/v1/jobs/hourly/schedule "$ADM" '{"schedule":"30 2 * * *","timezone":"Europe/Berlin"}'
body_has '"description":"At 02:30 every day"' "the new schedule in words"
[ "$(sql "SELECT expr FROM $CRONFLEET_CLOCK_SCHEMA.schedules WHERE job = 'hourly'")" = "CRON_TZ=Europe/Berlin 30 2 * * *" ] &&
	ok "the clock stored the new schedule" || bad "clock.schedules: $(sql "SELECT expr FROM $CRONFLEET_CLOCK_SCHEMA.schedules WHERE job = 'hourly'")"
expect 200 GET /api/v1/jobs/hourly "$VW"
[ "$(jq_py "d['data']['tz']")" = "Europe/Berlin" ] && ok "the job's zone is the new one" ||
	bad "tz after PUT: $(jq_py "d['data']['tz']")"
[ "$(jq_py "d['data']['fires'][0]['at'][11:19]")" = "02:30:00" ] &&
	ok "the next fire follows the new schedule" || bad "next fires: $(head -c 300 "$T/body")"

echo "# triggers at once: each its own fire (one commit for those that arrive together)"
before=$(sql "SELECT count(*) FROM $CRONFLEET_CLOCK_SCHEMA.fires WHERE job = 'quick' AND trigger = 'manual'")
mkdir -p "$T/burst.d"
seq 64 | xargs -P16 -I{} curl -s -o "$T/burst.d/{}" -w '%{http_code}\n' -X POST \
	-H "Authorization: Bearer $ADM" "$G/api/v1/jobs/quick/trigger" >"$T/burst"
[ "$(grep -c '^200$' "$T/burst")" = 64 ] && ok "64 concurrent triggers all answered 200" ||
	bad "concurrent triggers: $(sort "$T/burst" | uniq -c | tr '\n' ' ')"
after=$(sql "SELECT count(*) FROM $CRONFLEET_CLOCK_SCHEMA.fires WHERE job = 'quick' AND trigger = 'manual'")
[ $((after - before)) = 64 ] && ok "64 manual fires in the ledger" || bad "ledger: $((after - before)) new manual fires"
# Triggers that arrive together share one call to the clock ("trigger
# quick <n>"); each request still gets a fire of its own, the one the
# ledger holds, with the job's name and service.
python3 - "$T"/burst.d/* >"$T/burst_ids" <<'PY'
import json, sys
for name in sys.argv[1:]:
    body = json.load(open(name))["data"]
    assert body["job"] == "quick" and body["service"] == "ingest" and body["trigger"] == "manual"
    print(body["fire_id"])
PY
nd=$(sort -u "$T/burst_ids" | grep -c .)
inl=$(sql "SELECT count(*) FROM $CRONFLEET_CLOCK_SCHEMA.fires WHERE fire_id IN ($(sed "s/.*/'&'/" "$T/burst_ids" | paste -sd,)) AND trigger = 'manual'")
[ "$nd" = 64 ] && [ "$inl" = 64 ] && ok "each of the 64 answers names its own fire, the ledger's" ||
	bad "burst answers: $nd distinct fire ids, $inl of them in the ledger"
# Rows written by one transaction share its xmin: triggers that arrived
# while another was being written went into the ledger together.
ntx=$(sql "SELECT count(DISTINCT xmin::text) FROM (SELECT xmin FROM $CRONFLEET_CLOCK_SCHEMA.fires
	WHERE job = 'quick' AND trigger = 'manual' ORDER BY seq DESC LIMIT 64) f")
[ "$ntx" -lt 64 ] && ok "the 64 manual fires took $ntx commits (group commit)" ||
	bad "the 64 manual fires took $ntx commits: no two were written together"
inv=$(sql "SELECT count(*) FROM $CRONFLEET_CLOCK_SCHEMA.fires a JOIN $CRONFLEET_CLOCK_SCHEMA.fires b
	ON a.job = b.job AND a.trigger = 'manual' AND b.trigger = 'manual' AND a.seq < b.seq AND a.scheduled_for > b.scheduled_for
	WHERE a.job = 'quick'")
[ "$inv" = 0 ] && ok "manual fires' seq follows their instants" || bad "$inv manual fires out of seq order"
burst_settled() {
	[ "$(sql "SELECT count(*) FROM $CRONFLEET_CLOCK_SCHEMA.fires f WHERE f.job = 'quick' AND f.trigger = 'manual'
		AND NOT EXISTS (SELECT 1 FROM $S.job_runs r WHERE r.fire_id = f.fire_id AND r.final)")" = 0 ]
}
poll 60 burst_settled && ok "every manual fire of the burst has a final run (run or skipped by overlap)" ||
	bad "burst fires not settled"

echo "# the seeds' admin and cron endpoints"
expect 200 GET /api/admin/jobs "$VW"
[ "$(jq_py "sorted(j['name'] for j in d['availableJobs'])")" = "['bad', 'hourly', 'quick', 'slowjob']" ] &&
	ok "availableJobs lists the jobs" || bad "availableJobs: $(head -c 300 "$T/body")"
[ "$(jq_py "d['stats']['jobs']")" = 4 ] && ok "stats count the jobs" || bad "stats: $(head -c 300 "$T/body")"
succ=$(sql "SELECT count(*) FROM $S.job_runs WHERE status = 'succeeded' AND started_at > now() - interval '1 day'")
[ "$(jq_py "d['stats']['runs_24h']['succeeded']")" = "$succ" ] && ok "stats count the runs ($succ succeeded)" ||
	bad "runs_24h: $(jq_py "d['stats']['runs_24h']") vs $succ in job_runs"
expect 400 POST /api/admin/jobs "$ADM" '{"job":"quick"}'
body_has 'jobName' "admin/jobs without jobName names it"
expect 404 POST /api/admin/jobs "$ADM" '{"jobName":"nosuchjob"}'

expect 200 GET /api/cron/quick "$CS"
[ "$(jq_py "d['success'], d['run']['status'], d['run']['final']")" = "True succeeded True" ] &&
	ok "GET /api/cron/quick waits for the run and answers its summary" || bad "cron quick: $(head -c 400 "$T/body")"
fid=$(jq_py "d['fire_id']")
[ "$(sql "SELECT status FROM $S.job_runs WHERE fire_id = '$fid'")" = succeeded ] &&
	ok "the cron call's run is in job_runs" || bad "no run row for $fid"
[ "$(jq_py "d['summary'] == d['run']['result'] and d['summary'] is not None")" = True ] &&
	ok "summary is the run's result" || bad "summary: $(head -c 300 "$T/body")"
expect 500 GET /api/cron/bad "$CS"
[ "$(jq_py "d['success'], d['run']['status']")" = "False failed" ] && body_has 'planned failure' "a failed run is a 500 with its error" ||
	bad "cron bad: $(head -c 300 "$T/body")"
expect 202 GET /api/v1/cron/slowjob "$CS"
body_has 'still running' "a run longer than CRONFLEET_CRON_WAIT answers 202"
expect 200 GET /api/cron/slowjob "$CS"
[ "$(jq_py "d['success'], d['run']['status']")" = "True skipped" ] && body_has "skipped: " \
	"a fire skipped by the overlap policy is a 200 saying why" || bad "cron skipped: $(head -c 300 "$T/body")"
expect 200 GET /api/cron/quick "$ADM"
expect 200 POST /api/cron/quick "$ADM"
expect 403 POST /api/cron/quick "$CS"
expect 404 GET /api/cron/nosuchjob "$CS"

echo "# bad input"
expect 400 POST /api/v1/scheduler/trigger/quick "$ADM" '{"a":'
body_has 'malformed JSON in request body at byte' "malformed JSON says where"
expect 400 POST /api/v1/scheduler/trigger/quick "$ADM" '[1,2]'
body_has 'must be a JSON object' "a non-object body is refused"
head -c 70000 /dev/zero | tr '\0' 'a' >"$T/big"
got=$(curl -s -o "$T/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $ADM" \
	-H 'Content-Type: application/json' --data-binary @"$T/big" "$G/api/v1/scheduler/trigger/quick")
[ "$got" = 413 ] && ok "a 70000-byte body -> 413" || bad "big body -> $got"
got=$(curl -s -o "$T/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $ADM" \
	-H 'Transfer-Encoding: chunked' --data-binary @"$T/big" "$G/api/v1/scheduler/trigger/quick")
[ "$got" = 413 ] && ok "a chunked 70000-byte body -> 413" || bad "chunked big body -> $got"
expect 404 GET /api/v1/nothing-here "$VW"
expect 401 GET /api/v1/nothing-here -
expect 405 DELETE /api/v1/jobs/quick "$ADM"
grep -qi '^Allow: GET, HEAD' "$T/headers" && ok "405 says Allow" || bad "405 without Allow"
expect 404 POST /api/v1/scheduler/trigger/nosuchjob "$ADM"
body_has "unknown job 'nosuchjob'" "an unknown job is named"
expect 404 GET /api/v1/jobs/nosuchjob "$VW"
expect 400 GET "/api/v1/jobs/bad%20name" "$VW"

echo "# the audit"
n_ok=$(sql "SELECT count(*) FROM $GW_SCHEMA.audit WHERE actor = 'ops' AND action = 'trigger' AND outcome = 'ok'")
[ "$n_ok" -ge 4 ] && ok "admin triggers are audited ($n_ok)" || bad "admin triggers in audit: $n_ok"
n_ro=$(sql "SELECT count(*) FROM $GW_SCHEMA.audit WHERE actor = 'ro' AND role = 'viewer' AND status = 403 AND outcome = 'refused'")
[ "$n_ro" -ge 9 ] && ok "a viewer's refused actions are audited ($n_ro)" || bad "viewer refusals in audit: $n_ro"
[ "$(sql "SELECT count(*) FROM $GW_SCHEMA.audit WHERE actor = 'cron' AND action = 'cron' AND job = 'quick' AND outcome = 'ok' AND detail LIKE 'fire quick@%: succeeded'")" -ge 1 ] &&
	ok "the cron call is audited with its fire and outcome" || bad "no cron audit row"
[ "$(sql "SELECT count(*) FROM $GW_SCHEMA.audit WHERE action = 'schedule' AND outcome = 'ok' AND detail LIKE '%30 2 * * *%'")" = 1 ] &&
	ok "the schedule change is audited with the new schedule" || bad "no schedule audit row"
[ "$(sql "SELECT count(*) FROM $GW_SCHEMA.audit WHERE action = 'schedule' AND status = 400 AND detail LIKE 'schedule: minute%'")" = 1 ] &&
	ok "a refused schedule is audited with the reason" || bad "no refused schedule row"
[ "$(sql "SELECT count(*) FROM $GW_SCHEMA.audit WHERE action IN ('start','stop') AND actor = 'ops' AND remote = '127.0.0.1'")" -ge 2 ] &&
	ok "start/stop audited with the address" || bad "start/stop not audited"
[ "$(sql "SELECT count(*) FROM $GW_SCHEMA.audit WHERE actor = 'ops' AND action = 'trigger' AND job = 'quick' AND path = '/api/admin/jobs'")" -ge 1 ] &&
	ok "POST /api/admin/jobs audited with the job from the body" || bad "admin/jobs audit has no job"
[ "$(sql "SELECT count(*) FROM $GW_SCHEMA.audit WHERE actor = '-' AND status = 401")" -ge 1 ] || true
expect 200 GET "/api/v1/audit?actor=ro&limit=1000" "$VW"
[ "$(jq_py "set(e['actor'] for e in d['data'])")" = "{'ro'}" ] && ok "audit filter by actor" || bad "audit actor filter: $(head -c 200 "$T/body")"
total=$(sql "SELECT count(*) FROM $GW_SCHEMA.audit")
seen=0 before= pages=0
while :; do
	expect 200 GET "/api/v1/audit?limit=4${before:+&before=$before}" "$VW" >/dev/null
	seen=$((seen + $(jq_py "len(d['data'])")))
	pages=$((pages + 1))
	before=$(jq_py "d['page']['next_before'] or ''")
	[ -z "$before" ] && break
	[ $pages -gt 200 ] && break
done
[ "$seen" = "$total" ] && ok "audit pages of 4 walk all $total rows ($pages pages)" || bad "audit paging saw $seen of $total"
expect 400 GET "/api/v1/audit?before=abc" "$VW"
# The audit writer batches rows (it lingers a few ms for more); a read
# still lists every action answered before it was asked.
had=$(sql "SELECT count(*) FROM $GW_SCHEMA.audit WHERE actor = 'ci' AND action = 'pause'")
# One curl, one connection: 20 pauses, then the read within a millisecond
# of the last answer.
args=()
for _ in $(seq 20); do
	args+=(-o /dev/null -X POST -H "Authorization: Bearer $ADM2" "$G/api/v1/jobs/hourly/pause" --next)
done
curl -s "${args[@]}" -o "$T/body" -H "Authorization: Bearer $VW" "$G/api/v1/audit?actor=ci&action=pause&limit=1000"
n=$(jq_py "len(d['data'])")
[ "$n" = $((had + 20)) ] && ok "20 pauses, then a read at once: all 20 listed ($n rows)" ||
	bad "audit right after 20 pauses lists $n rows, expected $((had + 20))"
expect 200 POST /api/v1/jobs/hourly/resume "$ADM" >/dev/null

echo "# status asked in parallel: each answer gathered after it was asked"
# Six clients ask for the status without pause (their requests share
# gatherings); meanwhile "hourly" is paused and resumed ten times, and a
# status asked right after each answer must already show it.
loaders=()
for i in $(seq 6); do
	(
		end=$((SECONDS + 60)) n=0 fails=0
		while [ $SECONDS -lt $end ] && [ ! -e "$T/stop-load" ]; do
			c=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $VW" "$G/api/v1/scheduler/status")
			n=$((n + 1))
			[ "$c" = 200 ] || fails=$((fails + 1))
		done
		echo "$n $fails" >"$T/load-$i"
	) &
	loaders+=($!)
done
sleep 0.5
stale=0
hourly_paused() { jq_py "[j['paused'] for j in d['data']['jobs'] if j['job'] == 'hourly'][0]"; }
for i in $(seq 10); do
	[ "$(call POST /api/v1/jobs/hourly/pause "$ADM")" = 200 ] || bad "pause $i refused"
	call GET /api/v1/scheduler/status "$VW" >/dev/null
	[ "$(hourly_paused)" = True ] || stale=$((stale + 1))
	[ "$(call POST /api/v1/jobs/hourly/resume "$ADM")" = 200 ] || bad "resume $i refused"
	call GET /api/v1/scheduler/status "$VW" >/dev/null
	[ "$(hourly_paused)" = False ] || stale=$((stale + 1))
done
touch "$T/stop-load"
wait "${loaders[@]}"
asked=$(cat "$T"/load-* | awk '{n += $1; f += $2} END {print n + 0, f + 0}')
[ "$stale" = 0 ] && [ "${asked#* }" = 0 ] && [ "${asked% *}" -gt 20 ] &&
	ok "20 pauses and resumes, each seen by the status asked next, while 6 clients asked ${asked% *} times (all 200)" ||
	bad "status under load: $stale stale answers; load (asked, not 200): $asked"
rm -f "$T/stop-load"

echo "# triggers sharing a call to a clock that does not answer"
# Requests that wait behind a stuck call give up at their own deadline
# (504, naming the clock), taken into a call or not; one that makes a call
# after the first timed out may find the replaced socket not yet through
# to the stopped clock (503, naming it, as a lone request would). None
# hangs, and the gateway triggers again once the clock is back.
kill -STOP "$clock_pid"
t0=$(date +%s%N)
mkdir -p "$T/stuck.d"
seq 12 | xargs -P12 -I{} curl -s -o "$T/stuck.d/{}" -w '%{http_code}\n' -X POST \
	-H "Authorization: Bearer $ADM" "$G/api/v1/jobs/quick/trigger" >"$T/stuck"
ms=$((($(date +%s%N) - t0) / 1000000))
kill -CONT "$clock_pid"
n504=$(grep -cE '^50[34]$' "$T/stuck")
named=$(grep -lE 'clock (did not answer in time|is not reachable)' "$T"/stuck.d/* | wc -l)
[ "$n504" = 12 ] && [ "$named" = 12 ] && [ "$ms" -lt 10000 ] &&
	ok "12 triggers to a stopped clock: all 504 or 503 naming the clock, none hung (${ms} ms in all: $(sort "$T/stuck" | uniq -c | tr '\n' ' '))" ||
	bad "stuck clock: $n504 of 12 answered 504/503, $named named the clock, ${ms} ms: $(sort "$T/stuck" | uniq -c | tr '\n' ' ')"
poll 10 sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Authorization: Bearer $ADM' '$G/api/v1/jobs/quick/trigger') = 200 ]" &&
	ok "the clock back: a trigger answers 200 again" || bad "trigger after the clock came back"

echo "# a service that is stopped, then dead"
kill -STOP "$svc_pid"
expect 504 GET "/api/v1/scheduler/history?job=quick" "$VW"
body_has 'ingest did not answer in time' "504 names the service"
kill -CONT "$svc_pid"
own_kill KILL "$svc_pid"
wait "$svc_pid" 2>/dev/null
svc_pids=()
expect 503 GET "/api/v1/scheduler/history?job=quick" "$VW"
body_has 'ingest is not reachable' "503 names the service"
expect 200 GET /api/v1/scheduler/status "$VW"
body_has '"ingest":"ingest is not reachable' "status says which service is down"
expect 503 GET /readyz -

echo "# slow-down of an address that keeps failing"
for i in $(seq 10); do call GET /api/v1/jobs "guess-$i" >/dev/null; done
expect 429 GET /api/v1/jobs "$ADM"
ra=$(sed -n 's/^Retry-After: *\([0-9]*\).*/\1/ip' "$T/headers")
[ -n "$ra" ] && [ "$ra" -ge 1 ] && ok "429 says Retry-After ($ra s)" || bad "429 without Retry-After"
expect 200 GET /healthz -
sleep $((ra + 1))
expect 200 GET /api/v1/jobs "$ADM"

echo "# no CRON_SECRET: the cron route takes admin tokens only"
stop_gateway
start_gateway
expect 401 GET /api/cron/hourly "$CS"
expect 403 GET /api/cron/hourly "$VW"
stop_gateway

svc_finish
