#!/usr/bin/env bash
# test_history.sh - integration.history: run history, filtered and paged,
# through the real path: cronfleet-clock, two cronfleet-testsvc processes
# (as "ingest" and "analytics", both queried by the gateway) and
# cronfleet-gateway on the real PostgreSQL.
#
# Many runs (every-second schedules, some failing, manual fires), a
# paused job (the clock records its fires skipped), and rows that share
# one microsecond in both services and the ledger. Then: every filter
# (job, status, since) walked page by page with limit=7 and compared,
# entry by entry and in order, with the same history computed in SQL
# over both schemas and the clock's; bad values answered 400 naming the
# query argument; the `history` and `counts` commands on a service
# directly with nngcat (text and JSON forms).
#
# Usage: test_history.sh <bin dir>. Needs DATABASE_URL and REDIS_URL.
set -u
bindir=${1:?usage: test_history.sh build/bin}
: "${DATABASE_URL:?DATABASE_URL is not set: run through scripts/test}"
: "${REDIS_URL:?REDIS_URL is not set: run through scripts/test}"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/test_service_lib.sh"

svc_setup 6500 hist
SI=hist_ingest_$$
SA=hist_analytics_$$
CS=$CRONFLEET_CLOCK_SCHEMA
GW_SCHEMA=gw_hist_$$
G=http://127.0.0.1:$((base + 6))
RI=tcp://127.0.0.1:$((base + 2))
RA=tcp://127.0.0.1:$((base + 4))
ADM=adm-$$-$RANDOM$RANDOM
VW=view-$$-$RANDOM$RANDOM
export CRONFLEET_INGEST_SCHEMA=$SI CRONFLEET_INGEST_REP=$RI
export CRONFLEET_INGEST_PUB=tcp://127.0.0.1:$((base + 3))
export CRONFLEET_ANALYTICS_SCHEMA=$SA CRONFLEET_ANALYTICS_REP=$RA
export CRONFLEET_ANALYTICS_PUB=tcp://127.0.0.1:$((base + 5))
export CRONFLEET_SERVICES=ingest,analytics
export CRONFLEET_GATEWAY_ADDR=127.0.0.1:$((base + 6))
export CRONFLEET_GATEWAY_SCHEMA=$GW_SCHEMA
export CRONFLEET_ADMIN_TOKENS="ops:$ADM" CRONFLEET_VIEWER_TOKENS="ro:$VW"
export CRONFLEET_LOG_LEVEL=info
unset CRONFLEET_ADMIN_TOKEN

hist_cleanup() {
	psql -q "$DATABASE_URL" -c "DROP SCHEMA IF EXISTS $SI CASCADE; DROP SCHEMA IF EXISTS $SA CASCADE; DROP SCHEMA IF EXISTS $GW_SCHEMA CASCADE" >/dev/null 2>&1
	svc_cleanup
}
trap hist_cleanup EXIT

# start_named <name> <rep> <jobs>: a testsvc as service <name>.
start_named() {
	env CF_TESTSVC_NAME="$1" CF_TESTSVC_JOBS="$3" \
		"$bindir/cronfleet-testsvc" 2>>"$T/$1.log" &
	svc_pids+=($!)
	poll 30 sh -c "nngcat --req --dial $2 --ascii --data ping 2>/dev/null | grep -q pong" ||
		bad "$1 does not answer"
}

start_clock
start_named ingest "$RI" \
	'i-fast|* * * * * *|work=20,failp=0.35,retries=0;i-hand|-|work=5;i-paused|* * * * * *|work=5'
start_named analytics "$RA" \
	'a-fast|* * * * * *|work=20,failp=0.5,retries=0;a-two|*/2 * * * * *|work=5'
"$bindir/cronfleet-gateway" 2>>"$T/gateway.log" &
pids+=($!)
poll 30 curl -sf -o /dev/null "$G/healthz" || bad "the gateway does not answer"
for j in i-fast i-hand i-paused a-fast a-two; do
	wait_registered "$j" || bad "$j not registered"
done

# ---- many runs, a paused job, shared microseconds -----------------------
req "$CRONFLEET_CLOCK_REP" "pause i-paused" | grep -q '"paused":true' || bad "pause i-paused"
for _ in $(seq 15); do
	req "$CRONFLEET_CLOCK_REP" "trigger i-hand" >/dev/null
	sleep 0.3
done
sleep 6
# The scheduler stops: no run starts any more (the clock goes on
# recording skipped fires, newer than every run); in-flight runs end.
req "$CRONFLEET_CLOCK_REP" stop | grep -q '"stopped"' || bad "stop"
sleep 2
# Rows sharing one microsecond, in both services and in the ledger: the
# cursor must page through them without repeating or losing one.
tie="(now() - interval '2 seconds')::timestamptz(6)"
tie=$(sql "SELECT $tie")
for s in "$SI:i-hand" "$SA:a-two"; do
	sql "INSERT INTO ${s%%:*}.job_runs (run_id, job, fire_id, trigger, scheduled_for,
	     started_at, finished_at, status, error, final)
	     SELECT 'tie' || g || '-' || md5('${s%%:*}' || g), '${s#*:}', '${s#*:}@tie-' || g, 'manual',
	            '$tie', '$tie', '$tie', CASE WHEN g % 2 = 0 THEN 'failed' ELSE 'succeeded' END,
	            CASE WHEN g % 2 = 0 THEN 'tie failure' END, true
	     FROM generate_series(1, 9) g" >/dev/null
done
sql "INSERT INTO $CS.fires (job, service, scheduled_for, fire_id, trigger, outcome, reason, published_at)
     SELECT 'i-paused', 'ingest', timestamptz '2001-01-01' + g * interval '1 second',
            'i-paused@tie-' || g, 'manual', 'skipped', 'paused', '$tie'
     FROM generate_series(1, 4) g" >/dev/null
n_runs=$(sql "SELECT (SELECT count(*) FROM $SI.job_runs) + (SELECT count(*) FROM $SA.job_runs)")
n_fail=$(sql "SELECT (SELECT count(*) FROM $SI.job_runs WHERE status = 'failed') + (SELECT count(*) FROM $SA.job_runs WHERE status = 'failed')")
n_skip=$(sql "SELECT count(*) FROM $CS.fires WHERE outcome = 'skipped'")
[ "$n_runs" -ge 40 ] && [ "$n_fail" -ge 5 ] && [ "$n_skip" -ge 5 ] &&
	ok "history to page through: $n_runs runs ($n_fail failed), $n_skip skipped fires" ||
	bad "too little history: $n_runs runs, $n_fail failed, $n_skip skipped"

# ---- page walks against SQL ----------------------------------------------
# The whole history in the gateway's order, from SQL: (time in µs,
# source, id) descending; the id is the run_id in byte order, the
# ledger's seq for the clock's skipped fires.
expected() {
	psql -qtAX -F '|' "$DATABASE_URL" -c "
	SELECT t, src, id, ident, job, status FROM (
	  SELECT (extract(epoch FROM started_at) * 1000000)::bigint AS t, 'ingest' AS src,
	         run_id AS id, run_id AS ident, job, status FROM $SI.job_runs
	  UNION ALL
	  SELECT (extract(epoch FROM started_at) * 1000000)::bigint, 'analytics',
	         run_id, run_id, job, status FROM $SA.job_runs
	  UNION ALL
	  SELECT (extract(epoch FROM published_at) * 1000000)::bigint, 'clock',
	         lpad(seq::text, 20, '0'), fire_id, job, 'skipped' FROM $CS.fires
	  WHERE outcome = 'skipped') h
	ORDER BY t DESC, src COLLATE \"C\" DESC, id COLLATE \"C\" DESC"
}

export -f expected
export DATABASE_URL SI SA CS

# walk <name> <query>: pages through /api/v1/scheduler/history?<query>
# with limit=7 and compares the walk with SQL's history filtered alike.
# Entries newer than the walk's first one (the clock records skipped
# fires meanwhile) are left out of the comparison; nothing else may
# differ, order included.
walk() {
	python3 - "$G" "$VW" "$2" "$T/expected" "$1" <<'EOF'
import json, sys, urllib.request, urllib.error, datetime, subprocess
g, token, query, exp_file, name = sys.argv[1:6]
def get(q):
    r = urllib.request.Request(g + "/api/v1/scheduler/history?" + q,
                               headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(r, timeout=10) as resp:
        return json.load(resp)
filt = dict(kv.split("=", 1) for kv in query.split("&") if kv)
walked, before, pages = [], None, 0
while True:
    q = query + "&limit=7" + ("&before=" + before if before else "")
    d = get(q)
    pages += 1
    assert d["success"] and d["page"]["limit"] == 7, d
    assert "incomplete" not in d["page"], d["page"]
    assert len(d["data"]) <= 7
    for e in d["data"]:
        if e.get("source") == "clock":
            walked.append(("clock", e["fire_id"]))
            assert e["status"] == "skipped" and e["run_id"] is None and e["error"], e
        else:
            walked.append((e["service"], e["run_id"]))
            assert "cursor" not in e, e
    before = d["page"]["next_before"]
    if before is None:
        break
    assert pages < 500, "the walk does not end"
# SQL's view, taken after the walk: it holds everything the walk saw.
subprocess.run(["bash", "-c", "expected >" + exp_file], check=True)
since_us = None
if "since" in filt:
    s = filt["since"].replace("Z", "+00:00")
    since_us = int(datetime.datetime.fromisoformat(s).timestamp() * 1000) * 1000
exp = []
for line in open(exp_file):
    t, src, _id, ident, job, status = line.rstrip("\n").split("|")
    if "job" in filt and job != filt["job"]:
        continue
    if "status" in filt and status != filt["status"]:
        continue
    if since_us is not None and int(t) < since_us:
        continue
    exp.append((src, ident))
if len(walked) != len(set(walked)):
    print("FAIL %s: the walk repeats entries" % name); sys.exit(1)
if not walked:
    print("FAIL %s: empty walk" % name); sys.exit(1)
try:
    k = exp.index(walked[0])
except ValueError:
    print("FAIL %s: first entry %s not in SQL" % (name, walked[0])); sys.exit(1)
newer = exp[:k]
if any(src != "clock" for src, _ in newer):
    print("FAIL %s: runs newer than the walk's first entry: %s" % (name, newer[:3])); sys.exit(1)
if walked != exp[k:]:
    missing = [e for e in exp[k:] if e not in walked]
    extra = [e for e in walked if e not in exp[k:]]
    print("FAIL %s: walk differs from SQL (%d vs %d; missing %s; extra %s)"
          % (name, len(walked), len(exp) - k, missing[:3], extra[:3]))
    sys.exit(1)
print("ok   %s: %d entries in %d pages of 7, each once, in SQL's order" % (name, len(walked), pages))
EOF
	[ $? -eq 0 ] || fails=$((fails + 1))
}

walk "all jobs" ""
walk "job=i-fast" "job=i-fast"
walk "job=a-two (with shared microseconds)" "job=a-two"
walk "job=i-paused (the clock's skipped fires)" "job=i-paused"
walk "status=failed" "status=failed"
walk "status=skipped" "status=skipped"
walk "status=succeeded, job=i-hand" "status=succeeded&job=i-hand"
mid=$(sql "SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')
           FROM $SI.job_runs WHERE job = 'i-fast' ORDER BY started_at LIMIT 1 OFFSET 3")
walk "since=$mid" "since=$mid"
walk "since, status=failed" "since=$mid&status=failed"

# The tied rows: one page boundary falls inside them (limit 2 over 9 + 9 + 4).
out=$(python3 - "$G" "$VW" "$tie" <<'EOF'
import json, sys, urllib.request
g, token, tie = sys.argv[1:4]
seen, before = [], None
while True:
    q = "limit=2" + ("&before=" + before if before else "")
    r = urllib.request.Request(g + "/api/v1/scheduler/history?" + q,
                               headers={"Authorization": "Bearer " + token})
    d = json.load(urllib.request.urlopen(r, timeout=10))
    seen += [(e["service"], e["run_id"]) if e.get("source") != "clock"
             else ("clock", e["fire_id"]) for e in d["data"]]
    before = d["page"]["next_before"]
    if before is None:
        break
ties = [s for s in seen if "tie" in s[1]]
print(len(ties), len(set(ties)))
EOF
)
[ "$out" = "22 22" ] && ok "limit=2 through 22 entries sharing one microsecond: each once" ||
	bad "shared microsecond paging: $out (want 22 22)"

# ---- bad values: 400 naming the query argument ------------------------------
H="Authorization: Bearer $VW"
check400() {
	local q=$1 want=$2 code body
	body=$(curl -s -o - -w '\n%{http_code}' -H "$H" "$G/api/v1/scheduler/history?$q")
	code=${body##*$'\n'}
	body=${body%$'\n'*}
	[ "$code" = 400 ] && grep -q "$want" <<<"$body" && ok "?$q: 400 naming $want" ||
		bad "?$q: $code $body"
}
check400 "status=bogus" "query 'status': 'bogus' is not one of"
check400 "since=yesterday" "query 'since'"
check400 "since=2026-13-01T00:00:00Z" "query 'since'"
check400 "limit=0" "query 'limit'"
check400 "limit=1001" "query 'limit'"
check400 "limit=abc" "query 'limit'"
check400 "before=12345" "query 'before'"
check400 "before=1:nosuchsvc:x" "query 'before'"
check400 "before=1:clock:x" "query 'before'"
check400 "job=bad%20name" "invalid job name"
code=$(curl -s -o "$T/b" -w '%{http_code}' -H "$H" "$G/api/v1/scheduler/history?job=nope")
[ "$code" = 404 ] && grep -q "unknown job 'nope'" "$T/b" && ok "unknown job: 404" || bad "unknown job: $code $(cat "$T/b")"
code=$(curl -s -o "$T/b" -w '%{http_code}' "$G/api/v1/scheduler/history")
[ "$code" = 401 ] && ok "no token: 401" || bad "no token: $code"
code=$(curl -s -o "$T/b" -w '%{http_code}' -H "$H" "$G/api/scheduler/history?limit=3")
[ "$code" = 200 ] && [ "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["data"]), d["page"]["limit"], d["page"]["next_before"] is not None)' "$T/b")" = "3 3 True" ] &&
	ok "/api/scheduler/history (no v1): 3 entries and a next page" || bad "no-v1 path: $code $(head -c 300 "$T/b")"

# ---- a service down: its runs missing, and said -------------------------------
# (analytics stops for good here; the checks above needed it)
own_kill TERM "${svc_pids[1]}"
wait "${svc_pids[1]}" 2>/dev/null
code=$(curl -s -o "$T/b" -w '%{http_code}' -H "$H" "$G/api/v1/scheduler/history?limit=50")
[ "$code" = 200 ] && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
inc = d["page"].get("incomplete", {})
runs = [e for e in d["data"] if e.get("source") != "clock"]
assert list(inc) == ["analytics"] and inc["analytics"].startswith("analytics "), inc
assert runs and all(e["service"] == "ingest" for e in runs)
' "$T/b" && ok "analytics down: ingest and the clock answered, page.incomplete names analytics" ||
	bad "analytics down: $code $(head -c 400 "$T/b")"
code=$(curl -s -o "$T/b" -w '%{http_code}' -H "$H" "$G/api/v1/scheduler/history?job=a-fast")
case $code in 503 | 504) grep -q analytics "$T/b" ;; *) false ;; esac &&
	ok "job of a service that is down: $code naming it" ||
	bad "a-fast with analytics down: $code $(cat "$T/b")"

# ---- the service's own commands, with nngcat ------------------------------------
out=$(req "$RI" "history i-fast 3")
[ "$(grep -o '"run_id"' <<<"$out" | wc -l)" = 3 ] && grep -q '"cursor":"[0-9]*:' <<<"$out" &&
	ok "nngcat history i-fast 3: three runs with cursors" || bad "history i-fast 3: ${out:0:300}"
out=$(req "$RI" "history 50 status=failed")
nf=$(sql "SELECT count(*) FROM $SI.job_runs WHERE status = 'failed'")
[ "$(grep -o '"run_id"' <<<"$out" | wc -l)" = "$((nf > 50 ? 50 : nf))" ] &&
	! grep -q '"status":"succeeded"' <<<"$out" &&
	ok "nngcat history 50 status=failed: every job's $nf failed runs" || bad "history status=failed: ${out:0:300}"
# Page 2 of i-fast by hand: the third run's cursor.
c3=$(req "$RI" "history i-fast 3" | grep -o '"cursor":"[^"]*"' | sed -n 3p | cut -d'"' -f4)
out=$(req "$RI" "history i-fast 2 before=$c3")
want=$(sql "SELECT string_agg(run_id, ',' ORDER BY started_at DESC, run_id COLLATE \"C\" DESC) FROM
            (SELECT run_id, started_at FROM $SI.job_runs WHERE job = 'i-fast'
             ORDER BY started_at DESC, run_id COLLATE \"C\" DESC OFFSET 3 LIMIT 2) x")
got=$(grep -o '"run_id":"[^"]*"' <<<"$out" | cut -d'"' -f4 | paste -sd,)
[ -n "$got" ] && [ "$got" = "$want" ] && ok "nngcat history i-fast 2 before=<cursor>: the next two" ||
	bad "before=<cursor>: got $got want $want"
out=$(req "$RI" "history 1000 since=$mid")
[ "$(grep -o '"run_id"' <<<"$out" | wc -l)" = "$(sql "SELECT count(*) FROM $SI.job_runs WHERE started_at >= '$mid'")" ] &&
	ok "nngcat history since=<RFC 3339>: the runs since" || bad "history since: ${out:0:200}"
out=$(req "$RI" '{"cmd":"history","n":4,"args":["status=succeeded"]}')
[ "$(grep -o '"status":"succeeded"' <<<"$out" | wc -l)" = 4 ] && ok "JSON form with args" || bad "JSON history: ${out:0:300}"
for bad_arg in "status=bogus|invalid status 'bogus'" "since=soon|invalid since 'soon'" \
	"before=x|invalid before 'x'" "colour=red|invalid argument 'colour=red'"; do
	out=$(req "$RI" "history ${bad_arg%%|*}")
	grep -q "\"success\":false" <<<"$out" && grep -q "${bad_arg#*|}" <<<"$out" &&
		ok "nngcat history ${bad_arg%%|*}: refused, naming it" || bad "history ${bad_arg%%|*}: $out"
done
out=$(req "$RI" "history nope")
grep -q "unknown job 'nope'" <<<"$out" && ok "nngcat history nope: unknown job" || bad "history nope: $out"
out=$(req "$CRONFLEET_CLOCK_REP" "history 3 outcome=skipped")
[ "$(grep -o '"outcome":"skipped"' <<<"$out" | wc -l)" = 3 ] && grep -q '"service":"ingest"' <<<"$out" &&
	ok "clock: history 3 outcome=skipped (every job)" || bad "clock history: ${out:0:300}"

# counts: the last day's runs by status, in total and per job.
out=$(req "$RI" counts)
got=$(python3 -c 'import json,sys; d=json.loads(sys.stdin.read())["data"]; t=d["runs_24h"]; print(t["succeeded"], t["failed"], d["jobs"]["i-fast"]["last_24h"]["failed"], d["jobs"]["i-paused"]["last_24h"]["succeeded"])' <<<"$out")
want=$(sql "SELECT (SELECT count(*) FROM $SI.job_runs WHERE status = 'succeeded') || ' ' ||
                   (SELECT count(*) FROM $SI.job_runs WHERE status = 'failed') || ' ' ||
                   (SELECT count(*) FROM $SI.job_runs WHERE status = 'failed' AND job = 'i-fast') || ' ' ||
                   (SELECT count(*) FROM $SI.job_runs WHERE status = 'succeeded' AND job = 'i-paused')")
[ "$got" = "$want" ] && ok "counts: $got as in SQL" || bad "counts: $got, SQL $want (${out:0:300})"

svc_finish
