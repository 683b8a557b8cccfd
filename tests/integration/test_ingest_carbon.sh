#!/usr/bin/env bash
# test_ingest_carbon.sh - integration.ingest.carbon: carbon-sync through the
# real path (cronfleet-clock, the vendor simulator, cronfleet-ingest,
# PostgreSQL): the regions of the active sources, WattTime used normally
# (its token stored sealed and reused), the values normalised to gCO2eq/kWh
# compared with a direct call of the simulator, a re-run that changes
# nothing, Electricity Maps used when WattTime fails, is rate limited or
# near its limit, or is not configured (the reason in the result), the run
# failing only when every region failed, and no secret in the log or the
# run records.
#
# Usage: test_ingest_carbon.sh <bin dir>. Needs DATABASE_URL and REDIS_URL.
# Ports: 7600-7699 (ten per run, from the pid).
set -u
bindir=${1:?usage: test_ingest_carbon.sh build/bin}
: "${DATABASE_URL:?DATABASE_URL is not set: run through scripts/test}"
: "${REDIS_URL:?REDIS_URL is not set: run through scripts/test}"
here=$(cd "$(dirname "$0")" && pwd)
# The simulator's clock is frozen near the real one (token expiry is
# checked against the service's clock).
SIM_NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
. "$here/ingest_lib.sh"

ingest_setup 7600 carbon 10 # 7600-7699: 10 slots of ten ports
export CRONFLEET_INGEST_HTTP_ATTEMPTS=3

start_sim
start_clock
start_ingest
wait_registered carbon-sync || bad "carbon-sync never registered"
demo_org

# src <name> <extra JSON fields>: a SolarEdge source of the demo org.
src() { ing_id "source-put {\"org\":\"demo\",\"name\":\"$1\",\"vendor\":\"solaredge\",\"base_url\":\"$SIM/solaredge\",\"site_id\":\"2001\",\"credentials\":{\"api_key\":\"sim-solaredge-key\"}$2}" >/dev/null; }
src "bay area" ',"grid_region":"CAISO_NORTH","grid_zone":"US-CAL-CISO"'
src "bay area two" ',"grid_region":"CAISO_NORTH","grid_zone":"US-CAL-CISO"'
src "pennsylvania" ',"grid_region":"PJM","grid_zone":"US-MIDA-PJM"'
src "berlin" ',"grid_zone":"DE"'
src "texas (off)" ',"grid_region":"ERCOT","grid_zone":"US-TEX-ERCO","active":false'
src "no grid" ''
[ "$(sql "SELECT count(*) FROM $S.sources")" = 6 ] && ok "six sources: three regions among the active ones" || bad "sources: $(sql "SELECT count(*) FROM $S.sources")"

result() { jq_py "$RUN_RESULT" "$1" 2>&1; }
# reg <region> <key>: that region's entry in the result.
reg() { jq_py "$RUN_RESULT" "[x for x in j['results'] if x['region'] == '$1'][0]['$2']" 2>&1; }
xmins() { sql "SELECT string_agg(xmin::text, ',' ORDER BY region, point_time) FROM $S.carbon_forecasts"; }
route() {
	curl -sf "$SIM/_sim/stats" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(s.get("vendors", s)[sys.argv[1]].get("routes", {}).get(sys.argv[2], 0))' "$1" "$2"
}

# direct_wt <region>, direct_em <zone>: "time|raw" of every point, from the
# simulator directly (its own login).
direct_wt() {
	python3 - "$SIM" "$1" <<'EOF'
import base64, datetime, json, sys, urllib.request
sim, region = sys.argv[1], sys.argv[2]
b = base64.b64encode(b"sim:sim-watttime-pass").decode()
t = json.load(urllib.request.urlopen(urllib.request.Request(sim + "/watttime/login",
    headers={"Authorization": "Basic " + b}), timeout=10))["token"]
d = json.load(urllib.request.urlopen(urllib.request.Request(sim + "/watttime/v3/forecast?region=%s&signal_type=co2_moer&horizon_hours=24" % region,
    headers={"Authorization": "Bearer " + t}), timeout=10))
assert d["meta"]["units"] == "lbs_co2_per_mwh"
for p in d["data"]:
    print("%d|%r" % (datetime.datetime.fromisoformat(p["point_time"]).timestamp(), p["value"]))
EOF
}
direct_em() {
	python3 - "$SIM" "$1" <<'EOF'
import datetime, json, sys, urllib.request
sim, zone = sys.argv[1], sys.argv[2]
d = json.load(urllib.request.urlopen(urllib.request.Request(sim + "/electricitymaps/v3/carbon-intensity/forecast?zone=%s&horizonHours=24" % zone,
    headers={"auth-token": "sim-electricitymaps-token"}), timeout=10))
for p in d["forecast"]:
    print("%d|%r" % (datetime.datetime.fromisoformat(p["datetime"].replace("Z", "+00:00")).timestamp(), float(p["carbonIntensity"])))
EOF
}
# check_points <region> <provider> <factor> <file of time|raw>: every
# point stored with that raw value, intensity = raw x factor, provider.
check_points() {
	sql "SELECT extract(epoch FROM point_time)::bigint, raw_value, intensity, provider, raw_unit FROM $S.carbon_forecasts WHERE region = '$1'" >"$T/db-$1"
	python3 - "$T/db-$1" "$4" "$2" "$3" <<'EOF'
import sys
db = {}
for l in open(sys.argv[1]):
    t, raw, i, prov, unit = l.rstrip("\n").split("|")
    db[int(t)] = (float(raw), float(i), prov, unit)
want, prov, k = open(sys.argv[2]).read().split(), sys.argv[3], float(sys.argv[4])
bad = 0
for l in want:
    t, raw = l.split("|")
    t, raw = int(t), float(raw)
    g = db.get(t)
    if g is None or g[2] != prov or abs(g[0] - raw) > 1e-9 or abs(g[1] - raw * k) > 1e-9 * max(1, raw):
        bad += 1
print("%d %d" % (len(want), bad))
EOF
}

# ---- WattTime used normally ------------------------------------------------------------------------
run_job carbon-sync 90
[ "$RUN_STATUS" = succeeded ] && ok "first run succeeded" || bad "first run: $RUN_STATUS $RUN_ERROR"
got=$(result '(j["regions"], j["succeeded"], j["failed"], [x["region"] for x in j["results"]])')
[ "$got" = "(3, 3, 0, ['CAISO_NORTH', 'DE', 'PJM'])" ] && ok "regions: distinct grid_region of active sources, zone when none: $got" || bad "regions: $got"
got="$(reg CAISO_NORTH provider)/$(reg CAISO_NORTH points)/$(reg CAISO_NORTH fallback)/$(reg PJM provider)/$(reg PJM points)"
[ "$got" = "watttime/288/None/watttime/288" ] && ok "CAISO_NORTH and PJM from WattTime: 288 five-minute points each, no fallback" || bad "watttime regions: $got"
got="$(reg DE provider)/$(reg DE points)/$(reg DE fallback)"
case $got in
electricitymaps/24/*grid_region*) ok "DE (a zone only) from Electricity Maps: 24 hourly points, reason '$(reg DE fallback)'" ;;
*) bad "DE: $got" ;;
esac
got=$(sql "SELECT string_agg(region || ':' || provider || ':' || signal || ':' || raw_unit || ':' || n, ' ' ORDER BY region) FROM (SELECT region, provider, signal, raw_unit, count(*) n FROM $S.carbon_forecasts GROUP BY 1, 2, 3, 4) x")
[ "$got" = "CAISO_NORTH:watttime:co2_moer:lbs_co2_per_mwh:288 DE:electricitymaps:carbon_intensity:gCO2eq/kWh:24 PJM:watttime:co2_moer:lbs_co2_per_mwh:288" ] &&
	ok "rows keyed by region and time, provider, signal and raw unit: $got" || bad "rows: $got"
[ "$(result 'j["points"]')" = "$(sql "SELECT count(*) FROM $S.carbon_forecasts")" ] && ok "result's points match SQL ($(result 'j["points"]'))" || bad "points: $(result 'j["points"]')"

direct_wt CAISO_NORTH >"$T/wt"
got=$(check_points CAISO_NORTH watttime 0.453592 "$T/wt")
[ "$got" = "288 0" ] && ok "WattTime values vs a direct call: raw lbs/MWh kept, intensity = raw x 0.453592 g/kWh (288 points)" || bad "WattTime values (points, mismatches): $got"
direct_em DE >"$T/em"
got=$(check_points DE electricitymaps 1 "$T/em")
[ "$got" = "24 0" ] && ok "Electricity Maps values vs a direct call: gCO2eq/kWh as sent (24 points)" || bad "EM values: $got"

row=$(sql "SELECT count(*) FROM $S.tokens WHERE owner = 'provider' AND owner_key = 'watttime' AND access_token ~ '^[A-Za-z0-9+/]+=*\$' AND position('eyJ'::bytea IN decode(access_token, 'base64')) <> 1 AND expires_at > now()")
[ "$row" = 1 ] && ok "WattTime token stored sealed (base64 of no JWT text), with its expiry" || bad "watttime token: $(sql "SELECT owner_key, left(access_token, 12), expires_at FROM $S.tokens")"

# ---- re-run: nothing changes, the token is reused -------------------------------------------
x0=$(xmins)
l0=$(route watttime "GET /login")
run_job carbon-sync 90
[ "$RUN_STATUS" = succeeded ] && [ "$(result '(j["created"], j["updated"])')" = "(0, 0)" ] && ok "re-run: created 0, updated 0" || bad "re-run: $RUN_STATUS $(result '(j["created"], j["updated"])')"
[ "$(xmins)" = "$x0" ] && ok "re-run rewrote no row (xmin unchanged)" || bad "re-run rewrote rows"
[ "$l0" -ge 1 ] && [ "$(route watttime "GET /login")" = "$l0" ] && [ "$(result 'j["watttime"]["token_refreshed"]')" = False ] &&
	ok "stored WattTime token reused (no login)" || bad "logins $l0 -> $(route watttime "GET /login")"

# ---- WattTime failing: Electricity Maps for those regions -------------------------------------
sim_fault watttime '{"mode":"500","count":0}'
run_job carbon-sync 90
got="$(reg CAISO_NORTH provider)/$(reg PJM provider)/$(reg CAISO_NORTH points)"
fb=$(reg CAISO_NORTH fallback)
if [ "$RUN_STATUS" = succeeded ] && [ "$got" = "electricitymaps/electricitymaps/24" ] && echo "$fb" | grep -q 'watttime failed.*HTTP 500'; then
	ok "WattTime 500: Electricity Maps used for CAISO_NORTH and PJM, reason '$fb'"
else
	bad "WattTime 500: $RUN_STATUS $got '$fb'"
fi
[ "$(reg PJM errors)" != "[]" ] && ok "the WattTime error is listed in the region's errors" || bad "errors: $(reg PJM errors)"
direct_em US-CAL-CISO >"$T/em2"
got=$(check_points CAISO_NORTH electricitymaps 1 "$T/em2")
[ "$got" = "24 0" ] && ok "CAISO_NORTH's hourly points now hold the US-CAL-CISO zone's values" || bad "fallback values: $got"
sim_clear

# A 429 that outlasts the retries: fallback, and WattTime off for the run.
sim_fault watttime '{"mode":"429","count":0,"retry_after":1}'
run_job carbon-sync 90
sw=$(result 'j["watttime"]["switched"]')
if [ "$RUN_STATUS" = succeeded ] && [ "$(reg CAISO_NORTH provider)/$(reg PJM provider)" = electricitymaps/electricitymaps ] &&
	echo "$(reg PJM fallback)" | grep -q 'rate limited (HTTP 429)'; then
	ok "WattTime 429 throughout: Electricity Maps, and for the rest of the run ('$(reg PJM fallback | cut -c1-80)...')"
else
	bad "429: $RUN_STATUS $(reg CAISO_NORTH provider) $(reg PJM provider) '$(reg PJM fallback)'"
fi
sim_clear

# ---- WattTime's rate limit near: Electricity Maps for the rest of the run ----------------------
stop_ingest
start_ingest CRONFLEET_WATTTIME_MIN_REMAINING=1000000
run_job carbon-sync 90
fb=$(reg PJM fallback)
if [ "$RUN_STATUS" = succeeded ] && [ "$(reg PJM provider)" = electricitymaps ] && echo "$fb" | grep -q 'rate limit near' &&
	[ "$(result 'j["watttime"]["switched"] is not None and j["watttime"]["rate_limit_remaining"] is not None')" = True ]; then
	ok "X-RateLimit-Remaining below the minimum: PJM from Electricity Maps, '$fb'"
else
	bad "rate limit near: $RUN_STATUS PJM $(reg PJM provider) '$fb' $(result 'j["watttime"]')"
fi
stop_ingest

# The simulator's own small limit, the service's default minimum (50).
stop_sim
start_sim CRONFLEET_SIM_WATTTIME_RATE_LIMIT=20
start_ingest
run_job carbon-sync 90
if [ "$RUN_STATUS" = succeeded ] && [ "$(reg PJM provider)" = electricitymaps ] && echo "$(reg PJM fallback)" | grep -q 'rate limit near'; then
	ok "a simulator limit of 20 per window: '$(result 'j["watttime"]["switched"]' | cut -c1-90)...'"
else
	bad "small limit: $RUN_STATUS $(reg PJM provider) '$(reg PJM fallback)'"
fi
stop_ingest
stop_sim
start_sim

# ---- WattTime not configured; nothing configured ----------------------------------------------
start_ingest -u WATTTIME_USERNAME -u WATTTIME_PASSWORD
run_job carbon-sync 90
got="$(reg CAISO_NORTH provider)/$(reg PJM provider)/$(reg DE provider)"
[ "$RUN_STATUS" = succeeded ] && [ "$got" = electricitymaps/electricitymaps/electricitymaps ] && echo "$(reg PJM fallback)" | grep -q 'not configured' &&
	ok "WattTime not configured: every region from Electricity Maps, reason '$(reg PJM fallback)'" || bad "no WattTime: $RUN_STATUS $got"
stop_ingest
start_ingest -u WATTTIME_USERNAME -u WATTTIME_PASSWORD -u ELECTRICITYMAPS_TOKEN
run_job carbon-sync 60
n=$(sql "SELECT count(*) FROM $S.job_runs WHERE fire_id = '$RUN_FIRE'")
[ "$RUN_STATUS" = failed ] && echo "$RUN_ERROR" | grep -q 'no provider configured' && [ "$n" = 1 ] &&
	ok "no provider at all: failed once, permanently ('$RUN_ERROR')" || bad "no provider: $RUN_STATUS '$RUN_ERROR' attempts $n"
stop_ingest

# ---- every region failing fails the run; one region failing does not ---------------------------
start_ingest
sim_fault watttime '{"mode":"malformed","count":0}'
sim_fault electricitymaps '{"mode":"malformed","count":0}'
x0=$(xmins)
run_job carbon-sync 120
[ "$RUN_STATUS" = failed ] && echo "$RUN_ERROR" | grep -q 'every region failed' && [ "$(result 'j["failed"]')" = 3 ] &&
	ok "every region failing fails the run: '${RUN_ERROR:0:120}...'" || bad "all failed: $RUN_STATUS '$RUN_ERROR'"
[ "$(xmins)" = "$x0" ] && ok "failed regions wrote nothing" || bad "failed regions changed rows"
sim_clear
sim_fault electricitymaps '{"mode":"500","count":0}'
run_job carbon-sync 90
[ "$RUN_STATUS" = succeeded ] && [ "$(result '(j["succeeded"], j["failed"])')" = "(2, 1)" ] && [ "$(reg DE provider)" = None ] &&
	ok "only DE failing (Electricity Maps 500): the run succeeds, DE's error '$(reg DE errors | cut -c1-90)'" || bad "one failed: $RUN_STATUS $(result '(j["succeeded"], j["failed"])')"
sim_clear

# ---- WattTime's token and slow answers -----------------------------------------------------------
# expired_token: the stored token is refused once; a new login, stored,
# and the forecast still comes from WattTime.
r0=$(sql "SELECT refreshes FROM $S.tokens WHERE owner = 'provider' AND owner_key = 'watttime'")
l0=$(route watttime "GET /login")
sim_fault watttime '{"mode":"expired_token","count":1}'
run_job carbon-sync 90
r1=$(sql "SELECT refreshes FROM $S.tokens WHERE owner = 'provider' AND owner_key = 'watttime'")
if [ "$RUN_STATUS" = succeeded ] && [ "$(reg CAISO_NORTH provider)" = watttime ] && [ "$(route watttime "GET /login")" -gt "$l0" ] &&
	[ "$r1" -gt "$r0" ]; then
	ok "WattTime token expired: logged in again, stored (refreshes $r0 -> $r1), forecast from WattTime"
else
	bad "expired token: $RUN_STATUS $(reg CAISO_NORTH provider) logins $l0 -> $(route watttime "GET /login") refreshes $r0 -> $r1"
fi
sim_clear
# revoked_token: the login itself is refused while armed: Electricity Maps,
# saying why.
sim_fault watttime '{"mode":"revoked_token","count":0}'
run_job carbon-sync 90
fb=$(reg CAISO_NORTH fallback)
[ "$RUN_STATUS" = succeeded ] && [ "$(reg CAISO_NORTH provider)" = electricitymaps ] && [ -n "$fb" ] && [ "$fb" != None ] &&
	ok "WattTime token revoked: Electricity Maps, reason '${fb:0:100}'" || bad "revoked: $RUN_STATUS $(reg CAISO_NORTH provider) '$fb'"
sim_clear
# slow beyond the timeout (2 s in ingest_lib): Electricity Maps.
sim_fault watttime '{"mode":"slow","count":0,"delay_ms":3000}'
run_job carbon-sync 120
fb=$(reg PJM fallback)
[ "$RUN_STATUS" = succeeded ] && [ "$(reg PJM provider)" = electricitymaps ] && echo "$fb" | grep -qi 'timed out' &&
	ok "WattTime slower than the timeout: Electricity Maps, reason '${fb:0:100}'" || bad "slow: $RUN_STATUS $(reg PJM provider) '$fb'"
sim_clear
# partial_page: a forecast shorter than its horizon is stored as sent and
# said so in the region's note.
sim_fault watttime '{"mode":"partial_page","count":1}'
run_job carbon-sync 90
notes=$(jq_py "$RUN_RESULT" "' '.join(str(x.get('note', '')) for x in j['results'])")
echo "$notes" | grep -q 'short forecast: 144 of the 288' && ok "a short WattTime forecast is stored and noted: '${notes:0:110}'" ||
	bad "partial forecast: $RUN_STATUS '$notes'"
sim_clear

# ---- secrets never in the log or the run records -------------------------------------------------
sql "SELECT coalesce(result::text, '') || coalesce(error, '') FROM $S.job_runs" >"$T/runs.txt"
leaks=""
for s in sim-watttime-pass sim-electricitymaps-token "$(printf %s sim:sim-watttime-pass | base64)" eyJ; do
	grep -qF -- "$s" "$T/ingest.log" "$T/runs.txt" && leaks="$leaks ${s:0:12}"
done
[ -z "$leaks" ] && ok "no password, key or token in the log (debug level) or the run records" || bad "leaked:$leaks"

stop_ingest
svc_finish
