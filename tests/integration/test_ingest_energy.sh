#!/usr/bin/env bash
# test_ingest_energy.sh - integration.ingest.energy: the energy-sync job
# through the real path: cronfleet-clock, the vendor simulator,
# cronfleet-ingest and PostgreSQL, sources added with `source-put`.
#
# Checks: zero sources is a success; a first sync of five sources of two
# organisations (Enphase x2, SolarEdge, Tesla, UtilityAPI) over a 30-day
# lookback, cut to each vendor's limits (simulator stats); every row of
# the last day compared with the simulator's own answer at the same
# virtual time; a re-run changes nothing (counts and xmin); each fault
# mode (429 + Retry-After, 500, slow beyond the timeout, malformed JSON,
# expired token refreshed and stored, revoked token, partial pages)
# with the outcome recorded in the run and in last_error; a run past its
# timeout begins no further source; credentials and tokens never in the
# log or job_runs.
#
# Usage: test_ingest_energy.sh <bin dir>. Needs DATABASE_URL, REDIS_URL.
# Ports 7300-7499 (a slot of ten chosen by pid).
set -u
bindir=${1:?usage: test_ingest_energy.sh build/bin}
: "${DATABASE_URL:?DATABASE_URL is not set: run through scripts/test}"
: "${REDIS_URL:?REDIS_URL is not set: run through scripts/test}"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/test_service_lib.sh"

# A slot of ten ports in 7300-7499.
for k in $(seq 0 19); do
	base=$((7300 + ((($$ + k) % 20) * 10)))
	ports_free $base $((base + 9)) && break
done
T=$(mktemp -d)
S=ing_en_$$
export CRONFLEET_CLOCK_REP=tcp://127.0.0.1:$base
export CRONFLEET_CLOCK_PUB=tcp://127.0.0.1:$((base + 1))
export CRONFLEET_CLOCK_SCHEMA=clock_en_$$
export CRONFLEET_INGEST_REP=tcp://127.0.0.1:$((base + 2))
export CRONFLEET_INGEST_PUB=tcp://127.0.0.1:$((base + 3))
export CRONFLEET_INGEST_SCHEMA=$S
SIM=http://127.0.0.1:$((base + 4))
trap svc_cleanup EXIT

# Credentials unique to this run, so that a grep for them means something.
R=$$$RANDOM
EN_KEY=en-key-$R EN_CID=en-cid-$R EN_SEC=en-secret-$R EN_RT=en-rt-$R
SE_KEY=se-key-$R TS_CID=ts-cid-$R TS_RT=ts-rt-$R UA_TOK=ua-tok-$R

ing() { nngcat --req --dial "$CRONFLEET_INGEST_REP" --ascii --data "$1" 2>&1; }
simc() { curl -s -m 10 "$@"; }
res() { sql "SELECT result::text FROM $S.job_runs WHERE fire_id = '$1' AND final ORDER BY attempt DESC LIMIT 1"; }
run_status() { sql "SELECT status FROM $S.job_runs WHERE fire_id = '$1' AND final ORDER BY attempt DESC LIMIT 1"; }
run_error() { sql "SELECT coalesce(error, '') FROM $S.job_runs WHERE fire_id = '$1' AND final ORDER BY attempt DESC LIMIT 1"; }
# jq-like: a python expression over the result JSON as r.
rj() { python3 -c "import json,sys; r=json.loads(sys.argv[1]); print($2)" "$1"; }
src_id() { sql "SELECT id FROM $S.sources WHERE name = '$1'"; }

# The sim's "now" follows the grid's current bucket start, so that the
# simulator and the job agree on which intervals have ended.
bucket_now() { echo $(($(date +%s) / 900 * 900)); }
sim_clock() {
	local t
	t=$(date -u -d "@$(bucket_now)" +%Y-%m-%dT%H:%M:%SZ)
	simc -X PUT -d "{\"now\":\"$t\"}" "$SIM/_sim/clock" >/dev/null
}
# Not within 75 s of a bucket's end: two fires then share their range.
settle_window() {
	local left=$((900 - $(date +%s) % 900))
	if [ $left -lt 75 ]; then
		echo "# waiting ${left}s for the next 15-minute bucket"
		sleep $((left + 2))
	fi
}
fault() { simc -X PUT -d "$2" "$SIM/_sim/faults/$1" >/dev/null; }
clear_faults() { simc -X DELETE "$SIM/_sim/faults" >/dev/null; }
stats() { simc "$SIM/_sim/stats"; }

# fire: sets the sim's clock, triggers energy-sync, waits for the run to
# be final; prints the fire id.
fire() {
	local fid
	sim_clock
	fid=$(trigger energy-sync)
	poll 120 is_final "$fid" || echo "# fire $fid never final" >&2
	echo "$fid"
}
is_final() { [ "$(sql "SELECT count(*) FROM $S.job_runs WHERE fire_id = '$1' AND final")" -ge 1 ]; }

# ---- start --------------------------------------------------------------
env CRONFLEET_SIM_ADDR=127.0.0.1:$((base + 4)) \
	CRONFLEET_SIM_ENPHASE_API_KEY=$EN_KEY CRONFLEET_SIM_ENPHASE_CLIENT_ID=$EN_CID \
	CRONFLEET_SIM_ENPHASE_CLIENT_SECRET=$EN_SEC CRONFLEET_SIM_ENPHASE_REFRESH_TOKEN=$EN_RT \
	CRONFLEET_SIM_SOLAREDGE_API_KEY=$SE_KEY CRONFLEET_SIM_TESLA_CLIENT_ID=$TS_CID \
	CRONFLEET_SIM_TESLA_REFRESH_TOKEN=$TS_RT CRONFLEET_SIM_UTILITYAPI_TOKEN=$UA_TOK \
	CRONFLEET_LOG_LEVEL=warn "$bindir/cronfleet-vendor-sim" 2>>"$T/sim.log" &
pids+=($!)
poll 30 curl -sf -o /dev/null "$SIM/_sim" || bad "the simulator does not answer"
sim_clock

CRONFLEET_LOG_LEVEL=info start_clock
KEY=$(openssl rand -hex 32)
# run_ingest [VAR=value ...]: starts ingest with this test's settings
# (and those given); sets ingest_pid.
run_ingest() {
	env CRONFLEET_SECRET_KEY=$KEY CRONFLEET_LOG_LEVEL=debug \
		CRONFLEET_INGEST_ENERGY_LOOKBACK=30d CRONFLEET_INGEST_HTTP_TIMEOUT=1s \
		CRONFLEET_INGEST_HTTP_DEADLINE=8s CRONFLEET_INGEST_HTTP_ATTEMPTS=3 \
		CRONFLEET_INGEST_BACKOFF_BASE=50ms ENABLE_PLANT_SYNC_CRON=false \
		CRONFLEET_JOB_ENERGY_SYNC_RUN_ON_START=false CRONFLEET_JOB_CARBON_SYNC_RUN_ON_START=false \
		CRONFLEET_JOB_PLANT_SYNC_RUN_ON_START=false CRONFLEET_JOB_ORDER_SYNC_RUN_ON_START=false \
		CRONFLEET_JOB_SHIPPING_SYNC_RUN_ON_START=false CRONFLEET_JOB_ENERGY_SYNC_RETRIES=0 \
		"$@" "$bindir/cronfleet-ingest" 2>>"$T/ingest.log" &
	ingest_pid=$!
	svc_pids+=($ingest_pid)
}
run_ingest
poll 60 sh -c "nngcat --req --dial $CRONFLEET_INGEST_REP --ascii --data ping 2>/dev/null | grep -q pong" ||
	bad "ingest does not answer"
wait_registered energy-sync || bad "energy-sync not registered"
# Only manual fires in this test: a scheduled one would change the data.
for j in energy-sync carbon-sync plant-sync order-sync shipping-sync; do
	wait_registered $j
	req "$CRONFLEET_CLOCK_REP" "pause $j" >/dev/null
done
# source-put comes with the management commands (manage.c): wait for it.
poll 30 sh -c "nngcat --req --dial $CRONFLEET_INGEST_REP --ascii --data orgs 2>/dev/null | grep -q '\"success\":true'" ||
	bad "ingest has no management commands (orgs)"

# ---- zero sources --------------------------------------------------------
settle_window
f0=$(fire)
r0=$(res "$f0")
[ "$(run_status "$f0")" = succeeded ] && [ "$(rj "$r0" 'r["sources"]')" = 0 ] &&
	ok "no active source: the run succeeds with sources 0" ||
	bad "zero sources: status $(run_status "$f0"), result $r0"

# ---- sources --------------------------------------------------------------
ing "org-put '{\"name\":\"Org A $R\"}'" >/dev/null
ing "org-put '{\"name\":\"Org B $R\"}'" >/dev/null
put_source() { # org name vendor site creds
	local out
	out=$(ing "source-put '{\"org\":\"$1\",\"name\":\"$2\",\"vendor\":\"$3\",\"base_url\":\"$SIM/$3\",\"site_id\":\"$4\",\"credentials\":$5}'")
	echo "$out" | grep -q '"id"' || bad "source-put $2: $out"
}
put_source "Org A $R" enphase-1 enphase 4001 "{\"api_key\":\"$EN_KEY\",\"client_id\":\"$EN_CID\",\"client_secret\":\"$EN_SEC\",\"refresh_token\":\"$EN_RT\"}"
put_source "Org A $R" solaredge-1 solaredge 2001 "{\"api_key\":\"$SE_KEY\"}"
put_source "Org B $R" tesla-1 tesla 3001 "{\"client_id\":\"$TS_CID\",\"refresh_token\":\"$TS_RT\"}"
put_source "Org B $R" utilityapi-1 utilityapi 5001 "{\"token\":\"$UA_TOK\"}"
put_source "Org B $R" enphase-2 enphase 4002 "{\"api_key\":\"$EN_KEY\",\"client_id\":\"$EN_CID\",\"client_secret\":\"$EN_SEC\",\"refresh_token\":\"$EN_RT\"}"
ing "sources" | grep -q "$EN_KEY" && bad "sources lists a credential" ||
	ok "five sources of two organisations added with source-put; the listing shows no credential"
EN1=$(src_id enphase-1) SE1=$(src_id solaredge-1) TS1=$(src_id tesla-1)
UA1=$(src_id utilityapi-1) EN2=$(src_id enphase-2)

# ---- first sync: a 30-day lookback, cut to the vendors' limits -------------
settle_window
simc -X DELETE "$SIM/_sim/stats" >/dev/null
t_start=$(date +%s%N)
f1=$(fire)
t_end=$(date +%s%N)
r1=$(res "$f1")
UNTIL=$(rj "$r1" 'r["until"]')
[ "$(run_status "$f1")" = succeeded ] &&
	[ "$(rj "$r1" '(r["sources"], r["synced"], r["failed"])')" = "(5, 5, 0)" ] &&
	ok "first sync: 5 sources synced, $(rj "$r1" 'r["inserted"]') rows inserted in $(rj "$r1" 'r["duration_ms"]') ms (fire to final $(((t_end - t_start) / 1000000)) ms)" ||
	bad "first sync: $(run_status "$f1") $(run_error "$f1") $r1"
echo "# first sync's result: $r1"
# Each source: every 15-minute bucket of the 30 days, for each metric.
check_counts() { # id metrics
	local got
	got=$(sql "SELECT count(DISTINCT ts) || '/' || count(DISTINCT metric) || '/' || count(*) FROM $S.measurements WHERE source_id = $1")
	[ "$got" = "2880/$2/$((2880 * $2))" ] && ok "source $1: 2880 intervals x $2 metrics over 30 days" ||
		bad "source $1: intervals/metrics/rows $got, want 2880/$2/$((2880 * $2))"
}
check_counts "$EN1" 3
check_counts "$EN2" 3
check_counts "$SE1" 6
check_counts "$TS1" 7
check_counts "$UA1" 1
st=$(stats)
python3 - "$st" <<'EOF' && ok "requests cut to the vendors' limits: SolarEdge 2+2 (28 days max), Enphase 30 days x 2 routes x 2 systems, Tesla 30 days, UtilityAPI 5 weeks" || bad "request counts: $st"
import json, sys
s = json.loads(sys.argv[1])["vendors"]
def route(v, r):
    return s[v]["routes"].get(r, 0) if isinstance(s[v]["routes"], dict) else 0
want = {
    ("solaredge", "GET /site/{siteId}/energyDetails"): 2,
    ("solaredge", "GET /site/{siteId}/powerDetails"): 2,
    ("enphase", "GET /api/v4/systems/{system_id}/telemetry/production_micro"): 60,
    ("enphase", "GET /api/v4/systems/{system_id}/telemetry/consumption_meter"): 60,
    ("tesla", "GET /api/1/energy_sites/{id}/calendar_history"): 30,
    ("utilityapi", "GET /api/v2/intervals"): 5,
}
bad = [(k, route(*k), n) for k, n in want.items() if route(*k) != n]
if bad:
    print("# counts differ:", bad)
    sys.exit(1)
EOF
cursors=$(sql "SELECT count(*) FROM $S.sources WHERE cursor_at = timestamptz '$UNTIL' - interval '15 minutes' AND last_error IS NULL AND last_sync_at IS NOT NULL")
[ "$cursors" = 5 ] && ok "each source's cursor is the start of its newest interval ($UNTIL - 15 min)" ||
	bad "cursors: $(sql "SELECT id, cursor_at, last_error FROM $S.sources")"

# ---- values: every row of the last day against the simulator ---------------
compare_values() {
	python3 - "$SIM" "$UNTIL" "$DATABASE_URL" "$S" "$EN1" "$SE1" "$TS1" "$UA1" \
		"$EN_KEY" "$EN_CID" "$EN_SEC" "$EN_RT" "$SE_KEY" "$TS_CID" "$TS_RT" "$UA_TOK" <<'EOF'
import base64, datetime, json, subprocess, sys, urllib.parse, urllib.request
(sim, until, db, schema, en1, se1, ts1, ua1, en_key, en_cid, en_sec, en_rt,
 se_key, ts_cid, ts_rt, ua_tok) = sys.argv[1:17]
U = int(datetime.datetime.fromisoformat(until.replace("Z", "+00:00")).timestamp())
D0 = U - 86400
hdr_now = {"X-Sim-Now": until}
def get(url, headers=None, data=None):
    h = dict(hdr_now); h.update(headers or {})
    r = urllib.request.Request(url, headers=h, data=data)
    with urllib.request.urlopen(r, timeout=10) as f:
        return json.load(f)
def rows(sid):
    out = subprocess.run(["psql", "-qtAX", "-F", "|", db, "-c",
        "SELECT metric, extract(epoch FROM ts)::bigint, value FROM %s.measurements "
        "WHERE source_id = %s AND ts >= to_timestamp(%d)" % (schema, sid, D0)],
        capture_output=True, text=True, check=True).stdout
    d = {}
    for line in out.split("\n"):
        if line:
            m, t, v = line.split("|")
            d[(m, int(t))] = float(v)
    return d
def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
exp = {}
# Enphase: a token of our own, then the day's 15-minute telemetry.
basic = base64.b64encode((en_cid + ":" + en_sec).encode()).decode()
tok = get(sim + "/enphase/oauth/token", {"Authorization": "Basic " + basic},
          urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": en_rt}).encode())["access_token"]
e = {}
for route, wh, w in (("production_micro", "production_wh", "power_w"), ("consumption_meter", "consumption_wh", None)):
    d = get("%s/enphase/api/v4/systems/4001/telemetry/%s?key=%s&start_at=%d&granularity=day" % (sim, route, en_key, D0),
            {"Authorization": "Bearer " + tok})
    for iv in d["intervals"]:
        e[(wh, iv["end_at"] - 900)] = iv["enwh"]
        if w:
            e[(w, iv["end_at"] - 900)] = iv["powr"]
exp[en1] = e
# SolarEdge: energy (all meters) and production power.
names = {"Production": "production_wh", "Consumption": "consumption_wh", "SelfConsumption": "self_consumption_wh",
         "FeedIn": "grid_export_wh", "Purchased": "grid_import_wh"}
e = {}
def se_t(s):
    return int(datetime.datetime.strptime(s, "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.timezone.utc).timestamp())
fmt = lambda t: datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
q = urllib.parse.urlencode({"api_key": se_key, "timeUnit": "QUARTER_OF_AN_HOUR", "startTime": fmt(D0), "endTime": fmt(U)})
for m in get(sim + "/solaredge/site/2001/energyDetails?" + q)["energyDetails"]["meters"]:
    for v in m["values"]:
        if "value" in v:
            e[(names[m["type"]], se_t(v["date"]))] = v["value"]
q = urllib.parse.urlencode({"api_key": se_key, "meters": "PRODUCTION", "startTime": fmt(D0), "endTime": fmt(U)})
for m in get(sim + "/solaredge/site/2001/powerDetails?" + q)["powerDetails"]["meters"]:
    for v in m["values"]:
        if "value" in v:
            e[("power_w", se_t(v["date"]))] = v["value"]
exp[se1] = e
# Tesla: our own token, then the day's history.
tt = get(sim + "/tesla/oauth2/v3/token", {},
         urllib.parse.urlencode({"grant_type": "refresh_token", "client_id": ts_cid, "refresh_token": ts_rt}).encode())["access_token"]
q = urllib.parse.urlencode({"kind": "energy", "period": "day", "start_date": iso(D0), "end_date": iso(U)})
e = {}
for x in get(sim + "/tesla/api/1/energy_sites/3001/calendar_history?" + q, {"Authorization": "Bearer " + tt})["response"]["time_series"]:
    t = int(datetime.datetime.fromisoformat(x["timestamp"]).timestamp())
    g = lambda *k: sum(x.get(n, 0) for n in k)
    e[("production_wh", t)] = g("solar_energy_exported")
    e[("consumption_wh", t)] = g("consumer_energy_imported_from_grid", "consumer_energy_imported_from_solar", "consumer_energy_imported_from_battery")
    e[("grid_import_wh", t)] = g("grid_energy_imported")
    e[("grid_export_wh", t)] = g("grid_energy_exported_from_solar")
    e[("battery_charge_wh", t)] = g("battery_energy_imported_from_solar")
    e[("battery_discharge_wh", t)] = g("battery_energy_exported")
    e[("self_consumption_wh", t)] = g("consumer_energy_imported_from_solar", "battery_energy_imported_from_solar")
exp[ts1] = e
# UtilityAPI: the meter's readings of the day.
q = urllib.parse.urlencode({"meters": "5001", "start": iso(D0), "end": iso(U), "limit": 1000})
e = {}
for b in get(sim + "/utilityapi/api/v2/intervals?" + q, {"Authorization": "Bearer " + ua_tok})["intervals"]:
    for r in b["readings"]:
        t = int(datetime.datetime.fromisoformat(r["start"].replace("Z", "+00:00")).timestamp())
        e[("grid_import_wh", t)] = r["kwh"] * 1000
exp[ua1] = e
fails = 0
for sid, e in exp.items():
    got = rows(sid)
    diff = [k for k in set(e) | set(got) if k not in e or k not in got or abs(e[k] - got[k]) > 1e-6 * max(1, abs(e[k]))]
    nonzero = sum(1 for v in e.values() if v)
    if diff or len(e) < 96 * 1:
        print("FAIL source %s: %d rows expected, %d stored, %d differ (e.g. %s)" % (sid, len(e), len(got), len(diff), sorted(diff)[:3]))
        fails += 1
    else:
        print("ok   source %s: all %d rows of the last day equal the simulator's answer (%d non-zero)" % (sid, len(e), nonzero))
sys.exit(1 if fails else 0)
EOF
	[ $? -eq 0 ] || fails=$((fails + 1))
}
compare_values

# ---- re-run: nothing changes ---------------------------------------------
snapshot() { sql "SELECT count(*) || ':' || md5(string_agg(source_id || metric || ts || xmin::text || value, ',' ORDER BY source_id, metric, ts)) FROM $S.measurements"; }
before=$(snapshot)
f2=$(fire)
r2=$(res "$f2")
after=$(snapshot)
if [ "$(rj "$r2" 'r["until"]')" != "$UNTIL" ]; then
	ok "re-run: skipped (a new bucket ended between the fires)"
else
	[ "$(run_status "$f2")" = succeeded ] &&
		[ "$(rj "$r2" '(r["synced"], r["inserted"], r["updated"])')" = "(5, 0, 0)" ] && [ "$before" = "$after" ] &&
		ok "re-run of the same range: 0 inserted, 0 updated, rows and their xmin unchanged (${before%%:*} rows)" ||
		bad "re-run: $(run_status "$f2") $r2 before $before after $after"
fi

# rewind <source id> <hours>: forget its newest rows, so a run has
# something to fetch again.
rewind() {
	sql "DELETE FROM $S.measurements WHERE source_id = $1 AND ts >= timestamptz '$UNTIL' - interval '$2 hours';
	     UPDATE $S.sources SET cursor_at = timestamptz '$UNTIL' - interval '$2 hours' - interval '15 minutes' WHERE id = $1" >/dev/null
}
rows_of() { sql "SELECT count(*) FROM $S.measurements WHERE source_id = $1"; }
src_res() { rj "$1" "[x for x in r['results'] if x['source_id'] == $2][0]$3"; }
vstat() { rj "$1" "r['vendors']['$2']$3"; }

# ---- 429 with Retry-After: retried, then success ------------------------------
settle_window
UNTIL_NOW=$(date -u -d "@$(bucket_now)" +%Y-%m-%dT%H:%M:%SZ)
if [ "$UNTIL_NOW" != "$UNTIL" ]; then
	# A new bucket ended since the first sync: the checks below count
	# on the same range, so take the new one in first.
	fx=$(fire)
	UNTIL=$(rj "$(res "$fx")" 'r["until"]')
fi
simc -X DELETE "$SIM/_sim/stats" >/dev/null
fault solaredge '{"mode":"429","count":1,"retry_after":1}'
f=$(fire)
r=$(res "$f")
st=$(stats)
[ "$(run_status "$f")" = succeeded ] && [ "$(src_res "$r" "$SE1" "['success']")" = True ] &&
	[ "$(vstat "$st" solaredge "['status'].get('429', 0)")" = 1 ] &&
	[ "$(vstat "$st" solaredge "['requests']")" = 3 ] &&
	ok "429 with Retry-After 1 on SolarEdge: retried, then synced (3 requests for 2 reports: the extra one was the 429)" ||
	bad "429: $(run_status "$f") $r stats $(vstat "$st" solaredge '')"
clear_faults

# ---- 500: retried, then success ------------------------------------------
simc -X DELETE "$SIM/_sim/stats" >/dev/null
rewind "$UA1" 6
fault utilityapi '{"mode":"500","count":1}'
f=$(fire)
r=$(res "$f")
st=$(stats)
[ "$(run_status "$f")" = succeeded ] && [ "$(src_res "$r" "$UA1" "['success']")" = True ] &&
	[ "$(src_res "$r" "$UA1" "['inserted']")" = 24 ] &&
	[ "$(vstat "$st" utilityapi "['status'].get('500', 0)")" = 1 ] &&
	[ "$(vstat "$st" utilityapi "['requests']")" = 2 ] &&
	ok "500 on UtilityAPI: retried, then synced (2 requests, 24 readings back)" ||
	bad "500: $(run_status "$f") $r stats $(vstat "$st" utilityapi '')"
clear_faults

# ---- slow beyond the timeout: a clear error, the others synced ---------------
fault tesla '{"mode":"slow","count":0,"delay_ms":2500}'
f=$(fire)
r=$(res "$f")
e=$(src_res "$r" "$TS1" "['error']")
le=$(sql "SELECT last_error FROM $S.sources WHERE id = $TS1")
[ "$(run_status "$f")" = succeeded ] && [ "$(rj "$r" '(r["synced"], r["failed"])')" = "(4, 1)" ] &&
	echo "$e" | grep -q "source $TS1 (Org B $R/tesla-1, tesla)" && echo "$e" | grep -qi "time" && [ "$le" = "$e" ] &&
	ok "slow Tesla (2.5 s, timeout 1 s): the run succeeded with failed=1, the others synced; error: $e" ||
	bad "slow: $(run_status "$f") $r; last_error $le"
# Side by side: the four others (ids before and after Tesla's) were all
# synced before the slow one gave up: none waited for it.
rid=$(sql "SELECT run_id FROM $S.job_runs WHERE fire_id = '$f' ORDER BY attempt DESC LIMIT 1")
lines=$(grep -n "\"run_id\":\"$rid\"" "$T/ingest.log")
l_fail=$(echo "$lines" | grep 'energy-sync: source failed' | grep "\"source\":\"$TS1\"" | head -1 | cut -d: -f1)
after=$(echo "$lines" | grep 'energy-sync: source synced' | awk -F: -v l="${l_fail:-0}" '$1 > l' | wc -l)
before=$(echo "$lines" | grep -c 'energy-sync: source synced')
[ -n "$l_fail" ] && [ "$before" = 4 ] && [ "$after" = 0 ] &&
	ok "sources synced side by side: the 4 others were done before the slow Tesla failed" ||
	bad "side by side: fail line ${l_fail:-none}, $before synced, $after after it"
clear_faults

# ---- malformed JSON: a clear error -----------------------------------------
# One answer is malformed: whichever of the two Enphase sources asked
# first (they sync side by side) fails.
fault enphase '{"mode":"malformed","count":1}'
f=$(fire)
r=$(res "$f")
en_bad=$(rj "$r" "[x['source_id'] for x in r['results'] if not x['success']]")
case $en_bad in "[$EN1]") en_bad=$EN1 ;; "[$EN2]") en_bad=$EN2 ;; *) en_bad=none ;; esac
e=$(src_res "$r" "${en_bad/none/0}" "['error']" 2>/dev/null)
[ "$(run_status "$f")" = succeeded ] && [ "$(rj "$r" '(r["synced"], r["failed"])')" = "(4, 1)" ] &&
	[ "$en_bad" != none ] && echo "$e" | grep -q "not JSON" &&
	[ "$(sql "SELECT last_error FROM $S.sources WHERE id = $en_bad")" = "$e" ] &&
	[ "$(sql "SELECT last_error IS NULL FROM $S.sources WHERE id = $TS1")" = t ] &&
	ok "malformed JSON from Enphase: source failed clearly ($e); the next run cleared the slow Tesla's last_error" ||
	bad "malformed: $(run_status "$f") $r"
clear_faults

# ---- expired token: refreshed, stored, data synced ---------------------------
tok() { sql "SELECT refreshes || ':' || md5(access_token) FROM $S.tokens WHERE owner = 'source' AND owner_key = '$1'"; }
t_before=$(tok "$EN1")
rewind "$EN1" 3
simc -X DELETE "$SIM/_sim/stats" >/dev/null
fault enphase '{"mode":"expired_token","count":1}'
f=$(fire)
r=$(res "$f")
t_after=$(tok "$EN1")
st=$(stats)
[ "$(run_status "$f")" = succeeded ] && [ "$(src_res "$r" "$EN1" "['success']")" = True ] &&
	[ "$(src_res "$r" "$EN1" "['inserted']")" = 36 ] &&
	[ "${t_after%%:*}" -gt "${t_before%%:*}" ] && [ "${t_after#*:}" != "${t_before#*:}" ] &&
	[ "$(vstat "$st" enphase "['tokens_refreshed']")" -ge 1 ] &&
	ok "expired Enphase token: refreshed (refreshes ${t_before%%:*} -> ${t_after%%:*}, new access token stored), 36 rows synced" ||
	bad "expired: $(run_status "$f") $r tokens $t_before -> $t_after stats $(vstat "$st" enphase '')"
clear_faults

# ---- partial pages: detected, asked again -----------------------------------
rewind "$EN2" 6
rewind "$UA1" 6
simc -X DELETE "$SIM/_sim/stats" >/dev/null
fault enphase '{"mode":"partial_page","count":1}'
fault utilityapi '{"mode":"partial_page","count":1}'
f=$(fire)
r=$(res "$f")
[ "$(run_status "$f")" = succeeded ] &&
	[ "$(src_res "$r" "$EN2" "['short_answers']")" = 1 ] && [ "$(src_res "$r" "$EN2" "['inserted']")" = 72 ] &&
	[ "$(src_res "$r" "$UA1" "['short_answers']")" = 1 ] && [ "$(src_res "$r" "$UA1" "['inserted']")" = 24 ] &&
	[ "$(rows_of "$EN2")" = $((2880 * 3)) ] && [ "$(rows_of "$UA1")" = 2880 ] &&
	ok "partial pages (Enphase, UtilityAPI): detected against the range, asked again, every interval stored" ||
	bad "partial: $(run_status "$f") $r"
clear_faults
# Short twice (SolarEdge, until cleared): what came is kept, the cursor
# stops there, and the next run fills in the rest.
rewind "$SE1" 6
fault solaredge '{"mode":"partial_page","count":0}'
f=$(fire)
r=$(res "$f")
n1=$(rows_of "$SE1")
cur=$(sql "SELECT cursor_at < timestamptz '$UNTIL' - interval '15 minutes' FROM $S.sources WHERE id = $SE1")
clear_faults
f=$(fire)
r2=$(res "$f")
n2=$(rows_of "$SE1")
[ "$(src_res "$r" "$SE1" "['success']")" = True ] && [ "$(src_res "$r" "$SE1" "['short_answers']")" = 2 ] &&
	[ "$n1" -lt $((2880 * 6)) ] && [ "$cur" = t ] && [ "$n2" = $((2880 * 6)) ] &&
	ok "SolarEdge short twice: $((2880 * 6 - n1)) rows left for later, cursor held back; the next run filled them in ($n2 rows)" ||
	bad "partial twice: $r / $r2; rows $n1 then $n2; cursor held back: $cur"

# ---- revoked token: a clear error naming the source, the others synced -------
fault tesla '{"mode":"revoked_token","count":1}'
f=$(fire)
r=$(res "$f")
e=$(src_res "$r" "$TS1" "['error']")
[ "$(run_status "$f")" = succeeded ] && [ "$(rj "$r" '(r["synced"], r["failed"])')" = "(4, 1)" ] &&
	echo "$e" | grep -q "source $TS1 (Org B $R/tesla-1, tesla): tesla: token refresh failed" && echo "$e" | grep -q "revoked" &&
	[ "$(sql "SELECT last_error FROM $S.sources WHERE id = $TS1")" = "$e" ] &&
	ok "revoked Tesla token: $e; the 4 others synced" ||
	bad "revoked: $(run_status "$f") $r"
clear_faults

# ---- every source failing: the run fails --------------------------------------
for v in enphase solaredge utilityapi; do fault $v '{"mode":"500","count":0}'; done
f=$(fire)
[ "$(run_status "$f")" = failed ] && run_error "$f" | grep -q "all 5 sources failed" &&
	[ "$(rj "$(res "$f")" '(r["sources"], r["failed"])')" = "(5, 5)" ] &&
	ok "every source failing: the run failed ($(run_error "$f" | cut -c1-120)...)" ||
	bad "all failing: $(run_status "$f") $(run_error "$f")"
clear_faults

# ---- a run past its timeout: sources not begun are left alone ----------------
# One source at a time, 2 s for the run, every vendor slow (each source
# then takes its three 1 s attempts): the runtime records the run
# timed_out at 2 s; the source in hand ends, and no other is begun.
own_kill TERM "$ingest_pid"
wait "$ingest_pid"
svc_pids=()
run_ingest CRONFLEET_ENERGY_SYNC_CONCURRENCY=1 CRONFLEET_JOB_ENERGY_SYNC_TIMEOUT=2s
poll 60 sh -c "nngcat --req --dial $CRONFLEET_INGEST_REP --ascii --data orgs 2>/dev/null | grep -q '\"success\":true'" ||
	bad "ingest did not come back"
for v in enphase solaredge tesla utilityapi; do fault $v '{"mode":"slow","count":0,"delay_ms":2500}'; done
before=$(sql "SELECT string_agg(id || ':' || coalesce(last_error, '-') || ':' || coalesce(last_sync_at::text, '-'), ',' ORDER BY id) FROM $S.sources")
sim_clock
f=$(trigger energy-sync)
poll 30 is_final "$f" || bad "the timed-out fire $f never final"
rid=$(sql "SELECT run_id FROM $S.job_runs WHERE fire_id = '$f' ORDER BY attempt DESC LIMIT 1")
# The job function returns once the source in hand has failed.
returned() { grep "\"run_id\":\"$rid\"" "$T/ingest.log" | grep -q 'run returned after its timeout'; }
poll 30 returned || bad "the timed-out run never returned"
after=$(sql "SELECT string_agg(id || ':' || coalesce(last_error, '-') || ':' || coalesce(last_sync_at::text, '-'), ',' ORDER BY id) FROM $S.sources")
touched=$(python3 -c "import sys; a=sys.argv[1].split(','); b=sys.argv[2].split(','); print(sum(x != y for x, y in zip(a, b)))" "$before" "$after")
taken=$(grep "\"run_id\":\"$rid\"" "$T/ingest.log" | grep -c 'energy-sync: source \(failed\|synced\)')
[ "$(run_status "$f")" = timed_out ] && [ "$touched" = 1 ] && [ "$taken" = 1 ] &&
	ok "run past its 2 s timeout: timed_out; the one source in hand ended (its error stored), the 4 others never begun nor changed" ||
	bad "timeout: status $(run_status "$f"), $touched source row(s) changed, $taken source(s) logged"

clear_faults

# ---- secrets -------------------------------------------------------------------
kill -0 "$ingest_pid" 2>/dev/null && ok "ingest stayed up through every fault" || bad "ingest died"
leaks=""
for v in "$EN_KEY" "$EN_CID" "$EN_SEC" "$EN_RT" "$SE_KEY" "$TS_CID" "$TS_RT" "$UA_TOK" "eyJ"; do
	grep -q -- "$v" "$T/ingest.log" && leaks="$leaks log:$v"
	[ "$(sql "SELECT count(*) FROM $S.job_runs WHERE result::text LIKE '%$v%' OR error LIKE '%$v%'")" = 0 ] || leaks="$leaks job_runs:$v"
	[ "$(sql "SELECT count(*) FROM $S.sources WHERE credentials LIKE '%$v%' OR last_error LIKE '%$v%'")" = 0 ] || leaks="$leaks sources:$v"
	[ "$(sql "SELECT count(*) FROM $S.tokens WHERE access_token LIKE '%$v%' OR refresh_token LIKE '%$v%'")" = 0 ] || leaks="$leaks tokens:$v"
done
[ -z "$leaks" ] && ok "no credential or token in the log ($(wc -l <"$T/ingest.log") lines), job_runs, sources or tokens (sealed)" ||
	bad "secrets found:$leaks"

own_kill TERM "$ingest_pid"
wait "$ingest_pid"
rc=$?
[ $rc -eq 0 ] && ok "ingest exits 0 on SIGTERM" || bad "ingest exited $rc after SIGTERM"
svc_pids=()
psql -q "$DATABASE_URL" -c "DROP SCHEMA IF EXISTS $S CASCADE" >/dev/null 2>&1
if [ $fails -ne 0 ]; then
	echo "$fails failure(s)"
	grep -v '"level":"debug"' "$T/ingest.log" | tail -40
	exit 1
fi
echo "all passed"
exit 0
