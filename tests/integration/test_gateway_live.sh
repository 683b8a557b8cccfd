#!/usr/bin/env bash
# integration.gateway.live: GET /api/v1/events and GET /metrics through
# the real cronfleet-clock, cronfleet-testsvc as "ingest" and the real
# cronfleet-gateway, on the real PostgreSQL and Redis.
#
#   events   curl -N on the stream while jobs run: started/succeeded,
#            retrying/failed, timed_out in order with rising ids; a
#            reconnect with Last-Event-ID gets exactly the later events;
#            filters; ids from before a restart; SIGTERM with a stream
#            open ends promptly.
#   metrics  the page read by a strict exposition-format parser
#            (promtext_check.py; also the reference Python client's
#            parser when python3-prometheus-client is installed, and
#            promtool when present), values checked against job_runs
#            and the clock's ledger; service_up 0 for a stopped service.
#
#   usage: test_gateway_live.sh build/bin
set -u
bindir=${1:?usage: test_gateway_live.sh build/bin}
: "${DATABASE_URL:?DATABASE_URL is not set: run through scripts/test}"
: "${REDIS_URL:?REDIS_URL is not set: run through scripts/test}"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/test_service_lib.sh"

# ---- set-up: ten ports of the band 5000-5499 (by pid), own schemas ------
for k in $(seq 0 49); do
	base=$((5000 + ((($$ + k) % 50)) * 10))
	ports_free $base $((base + 9)) && break
done
T=$(mktemp -d)
S=ingest_live_$$
GS=gw_live_$$
export CRONFLEET_CLOCK_REP=tcp://127.0.0.1:$base
export CRONFLEET_CLOCK_PUB=tcp://127.0.0.1:$((base + 1))
export CRONFLEET_CLOCK_SCHEMA=clock_live_$$
export CRONFLEET_INGEST_REP=tcp://127.0.0.1:$((base + 2))
export CRONFLEET_INGEST_PUB=tcp://127.0.0.1:$((base + 3))
export CRONFLEET_INGEST_SCHEMA=$S
export CRONFLEET_GATEWAY_ADDR=127.0.0.1:$((base + 4))
export CRONFLEET_GATEWAY_SCHEMA=$GS
export CRONFLEET_SERVICES=ingest
export CRONFLEET_ADMIN_TOKENS=alice:live-admin-$$
export CRONFLEET_VIEWER_TOKENS=graf:live-viewer-$$
export CRONFLEET_LOG_LEVEL=debug
export CF_TESTSVC_NAME=ingest
# good succeeds; bad fails every attempt (2 retries); slow times out
# without retry; later has a schedule of its own (set during the test).
export CF_TESTSVC_JOBS='good|-|work=200;bad|-|fail=9,retries=2,retry_base=100ms;slow|-|work=5000,timeout=500ms,retries=0;later|0 0 1 1 *|work=10'
URL=http://127.0.0.1:$((base + 4))
ADMIN="Authorization: Bearer live-admin-$$"
VIEWER="Authorization: Bearer live-viewer-$$"

cleanup() {
	for p in "${svc_pids[@]}" "${pids[@]}"; do
		own_kill KILL "$p"
	done
	wait 2>/dev/null
	psql -q "$DATABASE_URL" -c "DROP SCHEMA IF EXISTS $CRONFLEET_CLOCK_SCHEMA CASCADE; DROP SCHEMA IF EXISTS $S CASCADE; DROP SCHEMA IF EXISTS $GS CASCADE" >/dev/null 2>&1
	redis-cli -u "$REDIS_URL" DEL "cronfleet:clock:leader:$CRONFLEET_CLOCK_SCHEMA" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

start_gateway() {
	"$bindir/cronfleet-gateway" 2>>"$T/gateway.log" &
	gw_pid=$!
	pids+=($gw_pid)
	poll 30 sh -c "curl -sf '$URL/healthz' >/dev/null" || bad "the gateway does not answer"
}

# stream_open <file> [query]: an event stream into file, connected.
stream_open() {
	local f=$1
	curl -sN -H "$VIEWER" "$URL/api/v1/events${2:-}" >"$f" 2>/dev/null &
	curl_pid=$!
	pids+=($curl_pid)
	poll 10 grep -q '^retry:' "$f" || bad "stream $f did not start"
}

# rest_trigger <job>: a manual fire through the gateway; prints its id.
rest_trigger() {
	curl -s -X POST -H "$ADMIN" "$URL/api/v1/scheduler/trigger/$1" |
		sed -n 's/.*"fire_id":"\([^"]*\)".*/\1/p'
}

# sse_list <file>: one line per event, "id event job attempt run_id".
sse_list() {
	python3 - "$1" <<'EOF'
import json, sys
ev = {}
for line in open(sys.argv[1], encoding="utf-8").read().split("\n"):
    if line == "":
        if "data" in ev:
            d = json.loads(ev["data"])
            print(ev.get("id", "-"), ev.get("event", "-"), d["job"], d["attempt"], d["run_id"])
        ev = {}
    elif not line.startswith(":") and ":" in line:
        k, v = line.split(":", 1)
        ev[k] = v[1:] if v.startswith(" ") else v
EOF
}

start_clock
# Replica 0 of start_svc listens on base+2 and base+3: CRONFLEET_INGEST_*.
start_svc ingest 0
wait_registered later || bad "jobs not registered with the clock"
start_gateway

# ---- events: one stream while the jobs run ------------------------------
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/events")
[ "$code" = 401 ] && ok "events without a token: 401" || bad "events without a token: $code"
hdr=$(curl -s -D - -o /dev/null --max-time 2 -H "$VIEWER" "$URL/api/v1/events" | tr -d '\r')
echo "$hdr" | grep -qi '^content-type: text/event-stream' &&
	ok "events: Content-Type text/event-stream" || bad "events headers: $hdr"

# An idle stream (its filter matches nothing), kept open through the
# test: comments every 15 s keep it alive past the 30 s idle timeout.
stream_open "$T/idle" "?job=nothing-runs-this"
idle_pid=$curl_pid
idle_t0=$(date +%s)
stream_open "$T/sse1"
f_good=$(rest_trigger good)
wait_status "$f_good" succeeded
f_bad=$(rest_trigger bad)
wait_attempts "$f_bad" 3
f_slow=$(rest_trigger slow)
wait_status "$f_slow" timed_out
poll 10 grep -q '^event: timed_out' "$T/sse1" || bad "no timed_out event on the stream"
own_kill TERM "$curl_pid"
sse_list "$T/sse1" >"$T/list1"

# The expected sequence, from job_runs (attempt order), and the stream's.
expect=$(printf '%s\n' \
	"good 1 started" "good 1 succeeded" \
	"bad 1 started" "bad 1 retrying" "bad 2 started" "bad 2 retrying" \
	"bad 3 started" "bad 3 failed" \
	"slow 1 started" "slow 1 timed_out")
got=$(awk '{print $3, $4, $2}' "$T/list1")
[ "$got" = "$expect" ] && ok "stream: 10 events in order (started/succeeded, retrying x2/failed, timed_out)" ||
	bad "stream events: got
$got
expected
$expect"
# Ids: one boot, sequence numbers rising.
if awk '{split($1, a, "-"); if (NR > 1 && (a[1] != b || a[2] + 0 <= s)) exit 1; b = a[1]; s = a[2] + 0}' "$T/list1" &&
	[ "$(wc -l <"$T/list1")" -ge 10 ]; then
	ok "stream ids share one boot and rise"
else
	bad "stream ids: $(awk '{print $1}' "$T/list1" | tr '\n' ' ')"
fi
# Each terminal event is the run row it claims to be.
rows_ok=0
while read -r id state job attempt run; do
	case $state in succeeded | failed | timed_out | retrying) ;; *) continue ;; esac
	want=$state
	[ "$state" = retrying ] && want=failed
	[ "$(sql "SELECT status FROM $S.job_runs WHERE run_id = '$run'")" = "$want" ] &&
		rows_ok=$((rows_ok + 1))
done <"$T/list1"
[ $rows_ok -eq 5 ] && ok "the 5 terminal events match their job_runs rows" ||
	bad "only $rows_ok of 5 terminal events match job_runs"
grep '^data: ' "$T/sse1" | head -1 | sed 's/^data: //' | python3 -c '
import json, sys
d = json.load(sys.stdin)
keys = ["service","job","state","run_id","fire_id","trigger","attempt","scheduled_for","started_at","finished_at","duration_ms","error","result"]
missing = [k for k in keys if k not in d]
sys.exit(1 if missing or d["service"] != "ingest" or d["trigger"] != "manual" else 0)' &&
	ok "event data carries every field" || bad "event data: $(grep -m1 '^data: ' "$T/sse1")"
grep -q '"error":"testsvc: planned failure of attempt 3"' "$T/sse1" &&
	ok "the failed event carries the run's error" || bad "no error text in the failed event"

# ---- Last-Event-ID: exactly the later ones -----------------------------
mid=$(sed -n 4p "$T/list1" | awk '{print $1}')
curl -sN --max-time 3 -H "$VIEWER" -H "Last-Event-ID: $mid" "$URL/api/v1/events" >"$T/sse2" 2>/dev/null
sse_list "$T/sse2" >"$T/list2"
if [ "$(awk '{print $1}' "$T/list2")" = "$(sed -n '5,$p' "$T/list1" | awk '{print $1}')" ] &&
	[ "$(wc -l <"$T/list2")" -eq "$(($(wc -l <"$T/list1") - 4))" ]; then
	ok "Last-Event-ID $mid: exactly the $(wc -l <"$T/list2") later events"
else
	bad "resume after $mid: got $(awk '{print $1}' "$T/list2" | tr '\n' ' ')"
fi
grep -q '^: ' "$T/sse2" && bad "resume within the buffer says something: $(grep '^: ' "$T/sse2")" ||
	ok "resume within the buffer: no gap comment"
# The query form (EventSource cannot send headers on its first request).
curl -sN --max-time 3 -H "$VIEWER" "$URL/api/v1/events?last_event_id=$mid" >"$T/sse2q" 2>/dev/null
[ "$(sse_list "$T/sse2q" | awk '{print $1}')" = "$(awk '{print $1}' "$T/list2")" ] &&
	ok "?last_event_id= resumes the same way" || bad "?last_event_id= differs"

# Filters, from the start of the buffer.
first=$(sed -n 1p "$T/list1" | awk '{print $1}')
curl -sN --max-time 3 -H "$VIEWER" -H "Last-Event-ID: $first" "$URL/api/v1/events?job=bad" >"$T/sse3" 2>/dev/null
[ "$(sse_list "$T/sse3" | awk '{print $3}' | sort -u)" = bad ] &&
	[ "$(sse_list "$T/sse3" | wc -l)" -eq 6 ] &&
	ok "?job=bad: only bad's 6 events" || bad "?job=bad: $(sse_list "$T/sse3" | awk '{print $3, $2}' | tr '\n' ' ')"
curl -sN --max-time 3 -H "$VIEWER" -H "Last-Event-ID: $first" "$URL/api/v1/events?service=ingest&job=slow" >"$T/sse4" 2>/dev/null
[ "$(sse_list "$T/sse4" | awk '{print $2}' | tr '\n' ' ')" = "started timed_out " ] &&
	ok "?service=ingest&job=slow: slow's started and timed_out only" ||
	bad "?service=ingest&job=slow: $(sse_list "$T/sse4" | awk '{print $2}' | tr '\n' ' ')"
code=$(curl -s -o "$T/e400" -w '%{http_code}' -H "$VIEWER" "$URL/api/v1/events?service=nope")
[ "$code" = 400 ] && grep -q "service" "$T/e400" && ok "?service=nope: 400" || bad "?service=nope: $code $(cat "$T/e400")"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "$VIEWER" "$URL/api/v1/events?job=no%20such")
[ "$code" = 400 ] && ok "?job= with a bad name: 400" || bad "?job= bad name: $code"

# An id from another boot, or not ours: what is kept, with a comment.
curl -sN --max-time 3 -H "$VIEWER" -H "Last-Event-ID: 1-5" "$URL/api/v1/events" >"$T/sse5" 2>/dev/null
grep -q '^: Last-Event-ID .* before this gateway started' "$T/sse5" &&
	[ "$(sse_list "$T/sse5" | wc -l)" -eq "$(wc -l <"$T/list1")" ] &&
	ok "an id from another boot: a comment, then the $(wc -l <"$T/list1") events kept" ||
	bad "id from another boot: $(head -c 300 "$T/sse5")"

# ---- metrics ---------------------------------------------------------------
# The clock's side: "later" every second for a while, then paused (fires
# skipped as paused), then yearly again and resumed.
req "$CRONFLEET_CLOCK_REP" "schedule later '* * * * * *'" | grep -q '"success":true' || bad "schedule later"
poll 20 sh -c "[ \$(psql -qtAX '$DATABASE_URL' -c \"SELECT count(*) FROM $S.job_runs WHERE job = 'later' AND status = 'succeeded'\") -ge 3 ]" ||
	bad "later did not run every second"
req "$CRONFLEET_CLOCK_REP" "pause later" >/dev/null
poll 20 sh -c "[ \$(psql -qtAX '$DATABASE_URL' -c \"SELECT count(*) FROM $CRONFLEET_CLOCK_SCHEMA.fires WHERE job = 'later' AND reason = 'paused'\") -ge 2 ]" ||
	bad "no paused skips in the ledger"
req "$CRONFLEET_CLOCK_REP" "schedule later '0 0 1 1 *'" >/dev/null
req "$CRONFLEET_CLOCK_REP" "resume later" >/dev/null
# Everything settled: no running row.
poll 20 sh -c "[ \$(psql -qtAX '$DATABASE_URL' -c \"SELECT count(*) FROM $S.job_runs WHERE status = 'running'\") = 0 ]" ||
	bad "runs still running"

hdr=$(curl -s -D "$T/mh" -o "$T/metrics" -w '%{http_code}' "$URL/metrics")
[ "$hdr" = 200 ] && ok "/metrics without a token: 200 (public by default)" || bad "/metrics: $hdr"
grep -qi '^content-type: text/plain; version=0.0.4' "$T/mh" &&
	ok "/metrics Content-Type text/plain; version=0.0.4" || bad "/metrics headers: $(cat "$T/mh")"
# The reference client's parser needs Debian's python3 (its package).
py=python3
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null && py=/usr/bin/python3
if $py "$here/promtext_check.py" "$T/metrics" >"$T/samples"; then
	ok "/metrics parses ($(head -1 "$T/samples" | sed 's/^# parsers: //'), $(($(wc -l <"$T/samples") - 1)) samples)"
else
	bad "/metrics does not parse: $(head -20 "$T/samples")"
fi
if command -v promtool >/dev/null; then
	promtool check metrics <"$T/metrics" >"$T/promtool" 2>&1 &&
		ok "promtool check metrics: no problem" || bad "promtool: $(cat "$T/promtool")"
fi

# metric <series as normalized, labels sorted>: its value ("" if absent).
metric() { grep -F "$1 " "$T/samples" | head -1 | awk '{print $NF}'; }

[ "$(metric 'cronfleet_service_up{service="ingest"}')" = 1 ] &&
	[ "$(metric 'cronfleet_service_up{service="clock"}')" = 1 ] &&
	ok "service_up: clock 1, ingest 1" || bad "service_up: $(grep service_up "$T/samples")"

# Runs by job and status: every (job, status) equal to job_runs.
mism=0
for job in good bad slow later; do
	for st in succeeded failed timed_out skipped interrupted; do
		want=$(sql "SELECT count(*) FROM $S.job_runs WHERE job = '$job' AND status = '$st'")
		got=$(metric "cronfleet_runs_total{job=\"$job\",service=\"ingest\",status=\"$st\"}")
		[ "$got" = "$want" ] || { mism=$((mism + 1)); echo "  runs_total $job $st: metrics $got, job_runs $want"; }
	done
	want=$(sql "SELECT count(*) FROM $S.job_runs WHERE job = '$job' AND status IN ('failed', 'timed_out') AND NOT final")
	got=$(metric "cronfleet_run_retries_total{job=\"$job\",service=\"ingest\"}")
	[ "$got" = "$want" ] || { mism=$((mism + 1)); echo "  retries $job: metrics $got, job_runs $want"; }
	want=$(sql "SELECT count(*) FROM $S.job_runs WHERE job = '$job' AND status IN ('succeeded', 'failed', 'timed_out')")
	got=$(metric "cronfleet_run_duration_seconds_count{job=\"$job\",service=\"ingest\"}")
	[ "$got" = "$want" ] || { mism=$((mism + 1)); echo "  duration count $job: metrics $got, job_runs $want"; }
done
[ $mism -eq 0 ] && ok "runs_total, retries and duration counts equal job_runs for 4 jobs" ||
	bad "$mism metric values differ from job_runs"
[ "$(metric 'cronfleet_runs_total{job="bad",service="ingest",status="failed"}')" = 3 ] &&
	ok "bad: 3 failed attempts counted" || bad "bad failed count"
# slow ran ~500 ms before its timeout: in the (0.25, 0.5] or (0.5, 1] bucket.
[ "$(metric 'cronfleet_run_duration_seconds_bucket{job="slow",le="0.25",service="ingest"}')" = 0 ] &&
	[ "$(metric 'cronfleet_run_duration_seconds_bucket{job="slow",le="2.5",service="ingest"}')" = 1 ] &&
	ok "slow's duration lands between 0.25 s and 2.5 s" || bad "slow's duration buckets: $(grep 'slow' "$T/samples" | grep bucket | tr '\n' ' ')"
want=$(sql "SELECT round(extract(epoch FROM max(finished_at))::numeric, 3) FROM $S.job_runs WHERE job = 'good' AND status = 'succeeded'")
got=$(metric 'cronfleet_last_success_timestamp_seconds{job="good",service="ingest"}')
python3 -c "import sys; sys.exit(abs(float('$got') - float('$want')) > 0.002)" 2>/dev/null &&
	ok "last success of good = job_runs' finished_at ($got)" || bad "last success of good: $got, job_runs $want"
[ -z "$(metric 'cronfleet_last_success_timestamp_seconds{job="bad",service="ingest"}')" ] &&
	ok "no last success for a job that never succeeded" || bad "bad has a last success"

# The clock's families against its ledger.
want=$(sql "SELECT count(*) FROM $CRONFLEET_CLOCK_SCHEMA.fires WHERE job = 'later' AND outcome = 'published' AND trigger = 'schedule'")
got=$(metric 'cronfleet_fires_total{job="later",service="ingest",trigger="schedule"}')
[ -n "$got" ] && [ "$got" = "$want" ] && [ "$got" -ge 3 ] &&
	ok "fires_total later/schedule = ledger ($got)" || bad "fires_total later/schedule: metrics $got, ledger $want"
[ "$(metric 'cronfleet_fires_total{job="good",service="ingest",trigger="manual"}')" = 1 ] &&
	ok "fires_total good/manual = 1" || bad "fires_total good/manual: $(metric 'cronfleet_fires_total{job="good",service="ingest",trigger="manual"}')"
want=$(sql "SELECT count(*) FROM $CRONFLEET_CLOCK_SCHEMA.fires WHERE job = 'later' AND reason = 'paused'")
got=$(metric 'cronfleet_skipped_fires_total{job="later",reason="paused",service="ingest"}')
[ -n "$got" ] && [ "$got" = "$want" ] &&
	ok "skipped_fires_total later/paused = ledger ($got)" || bad "skipped later/paused: metrics $got, ledger $want"
[ "$(metric 'cronfleet_catchup_fires_total{job="later",service="ingest"}')" = 0 ] &&
	ok "catchup_fires_total present (0 for later)" || bad "catchup_fires_total missing"
lc=$(metric 'cronfleet_tick_lateness_seconds_count{}')
[ -n "$lc" ] && [ "$lc" -ge 3 ] && [ "$lc" = "$(metric 'cronfleet_tick_lateness_seconds_bucket{le="+Inf"}')" ] &&
	ok "tick lateness histogram: $lc scheduled ticks" || bad "tick lateness: $(grep lateness "$T/samples" | tr '\n' ' ')"
# later's next fire: next 1 January 00:00 UTC, as the clock's jobs say.
want=$(req "$CRONFLEET_CLOCK_REP" "jobs" | python3 -c '
import json, sys, datetime
for j in json.load(sys.stdin)["data"]:
    if j["job"] == "later":
        print(int(datetime.datetime.fromisoformat(j["next_fire"].replace("Z", "+00:00")).timestamp()))')
got=$(metric 'cronfleet_next_fire_timestamp_seconds{job="later",service="ingest"}')
[ -n "$want" ] && [ "$got" = "$want" ] && ok "next_fire later = the clock's next_fire ($got)" ||
	bad "next_fire later: metrics $got, clock $want"
[ "$(metric 'cronfleet_job_paused{job="later",service="ingest"}')" = 0 ] &&
	[ -z "$(metric 'cronfleet_next_fire_timestamp_seconds{job="good",service="ingest"}')" ] &&
	ok "job_paused 0 after resume; no next fire for a job without schedule" || bad "paused / next fire of good"

# ---- the idle stream: keepalive comments, still open -----------------
poll 40 sh -c "[ \$(( \$(date +%s) - $idle_t0 )) -ge 32 ]"
if grep -q '^: keepalive' "$T/idle" && kill -0 "$idle_pid" 2>/dev/null &&
	! grep -q '^data:' "$T/idle"; then
	ok "idle stream: $(grep -c '^: keepalive' "$T/idle") keepalive comment(s) in $(($(date +%s) - idle_t0)) s, still open"
else
	bad "idle stream: $(tr '\n' '|' <"$T/idle"), open: $(kill -0 "$idle_pid" 2>/dev/null && echo yes || echo no)"
fi

# ---- SIGTERM with a stream open ----------------------------------------
stream_open "$T/sse6"
t0=$(date +%s%N)
own_kill TERM "$gw_pid"
wait "$gw_pid"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ $rc -eq 0 ] && [ $ms -lt 5000 ] && ok "SIGTERM with a stream open: exit 0 in $ms ms" ||
	bad "SIGTERM with a stream open: exit $rc after $ms ms"
poll 5 sh -c "! kill -0 $curl_pid 2>/dev/null" && ok "the open stream ended with the gateway" ||
	bad "the stream is still open after the gateway stopped"

# A new gateway: the old ids are from before it started.
start_gateway
old=$(sed -n '$p' "$T/list1" | awk '{print $1}')
curl -sN --max-time 2 -H "$VIEWER" -H "Last-Event-ID: $old" "$URL/api/v1/events" >"$T/sse7" 2>/dev/null
grep -q '^: Last-Event-ID .* before this gateway started' "$T/sse7" &&
	ok "after a restart, an old id gets the comment" || bad "after restart: $(head -c 300 "$T/sse7")"

# A service down: up 0, the page still well formed.
stop_svcs
curl -s -o "$T/metrics2" "$URL/metrics"
if $py "$here/promtext_check.py" "$T/metrics2" >"$T/samples"; then
	[ "$(metric 'cronfleet_service_up{service="ingest"}')" = 0 ] &&
		[ "$(metric 'cronfleet_service_up{service="clock"}')" = 1 ] &&
		! grep -q 'cronfleet_runs_total' "$T/samples" &&
		ok "ingest stopped: service_up 0, its series gone, page well formed" ||
		bad "ingest stopped: $(grep service_up "$T/samples")"
else
	bad "/metrics with ingest down does not parse: $(head "$T/samples")"
fi
own_kill TERM "$gw_pid"
wait "$gw_pid" 2>/dev/null
stop_clock

if [ $fails -ne 0 ]; then
	echo "$fails failure(s)"
	for f in "$T"/*.log; do
		echo "--- $f (errors and warnings)"
		grep -v '"level":"debug"' "$f" | grep -v '"level":"info"' | tail -30
	done
	exit 1
fi
echo "all passed"
exit 0
