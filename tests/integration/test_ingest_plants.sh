#!/usr/bin/env bash
# test_ingest_plants.sh - integration.ingest.plants: plant-sync through the
# real path (cronfleet-clock, the vendor simulator, cronfleet-ingest,
# PostgreSQL): Solarman and Sungrow accounts of two organisations, every
# page of their plant lists compared with the simulator's own answer, the
# seed's summary compared with SQL, a re-run that changes nothing, tokens
# sealed, reused, refreshed when expired, a revoked account failing alone,
# each fault mode (429, 500, slow, malformed, partial page), a run where
# every vendor fails, the concurrency limit, and no secret in the log or
# the run records.
#
# Usage: test_ingest_plants.sh <bin dir>. Needs DATABASE_URL and REDIS_URL.
# Ports: 7500-7599 (ten per run, from the pid).
set -u
bindir=${1:?usage: test_ingest_plants.sh build/bin}
: "${DATABASE_URL:?DATABASE_URL is not set: run through scripts/test}"
: "${REDIS_URL:?REDIS_URL is not set: run through scripts/test}"
here=$(cd "$(dirname "$0")" && pwd)
# The simulator's clock is frozen near the real one: the service checks a
# token's expiry against its own clock, so tokens must not be born stale.
SIM_NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
. "$here/ingest_lib.sh"

ingest_setup 7500 plants 10 # 7500-7599: 10 slots of ten ports
# One retry fewer than the default, so that failing runs end soon.
export CRONFLEET_INGEST_HTTP_ATTEMPTS=3

PLANTS=250 # three pages of 100
start_sim CRONFLEET_SIM_PLANTS=$PLANTS
start_clock
start_ingest
wait_registered plant-sync || bad "plant-sync never registered"

demo_org
ACME=$(ing_id 'org-put {"name":"acme"}')
SM=$(ing_id "vendor-put {\"org\":\"demo\",\"name\":\"Solarman roofs\",\"kind\":\"solarman\",\"base_url\":\"$SIM/solarman\",\"credentials\":{\"app_id\":\"sim-solarman-app\",\"app_secret\":\"sim-solarman-secret\",\"email\":\"sim@example.com\",\"password\":\"sim-solarman-pass\"}}")
SG=$(ing_id "vendor-put {\"org\":\"acme\",\"name\":\"Sungrow fleet\",\"kind\":\"sungrow\",\"base_url\":\"$SIM/sungrow\",\"credentials\":{\"appkey\":\"sim-sungrow-appkey\",\"access_key\":\"sim-sungrow-access\",\"user\":\"sim\",\"password\":\"sim-sungrow-pass\"}}")
[ -n "$SM" ] && [ -n "$SG" ] && ok "two vendors in two organisations ($SM solarman, $SG sungrow)" || bad "vendor-put: '$SM' '$SG'"

# result <python expression over r, the run's result>
result() { jq_py "$RUN_RESULT" "$1" 2>&1; }
# vres <vendor id> <key>: that vendor's entry in the summary.
vres() { jq_py "$RUN_RESULT" "[x for x in j['results'] if x['vendorId'] == $1][0]['$2']" 2>&1; }
# logins <vendor>: the simulator's count of login requests to it.
logins() {
	curl -sf "$SIM/_sim/stats" | python3 -c '
import json, sys
s = json.load(sys.stdin)
r = s.get("vendors", s)[sys.argv[1]].get("routes", {})
print(r.get({"solarman": "POST /account/v1.0/token", "sungrow": "POST /openapi/login"}[sys.argv[1]], 0))' "$1"
}
xmins() { sql "SELECT string_agg(xmin::text, ',' ORDER BY id) FROM $S.plants"; }
tok_refreshes() { sql "SELECT coalesce((SELECT refreshes FROM $S.tokens WHERE owner = 'vendor' AND owner_key = '$1'), 0)"; }

# sim_plants <vendor>: "id|name|capacity_kw|lat|lon" of every plant, read
# from the simulator directly (its own login, every page).
sim_plants() {
	python3 - "$SIM" "$1" <<'EOF'
import hashlib, json, sys, urllib.request
sim, vendor = sys.argv[1], sys.argv[2]
def post(path, body, headers={}):
    rq = urllib.request.Request(sim + path, data=json.dumps(body).encode(),
        headers=dict({"Content-Type": "application/json"}, **headers), method="POST")
    return json.load(urllib.request.urlopen(rq, timeout=10))
rows = []
if vendor == "solarman":
    t = post("/solarman/account/v1.0/token?appId=sim-solarman-app&language=en",
             {"appSecret": "sim-solarman-secret", "email": "sim@example.com",
              "password": hashlib.sha256(b"sim-solarman-pass").hexdigest()})["access_token"]
    page = 1
    while True:
        d = post("/solarman/station/v1.0/list?language=en", {"page": page, "size": 100},
                 {"Authorization": "bearer " + t})
        for s in d["stationList"]:
            rows.append((str(s["id"]), s["name"], s["installedCapacity"], s["locationLat"], s["locationLng"]))
        if page * 100 >= d["total"]: break
        page += 1
else:
    h = {"x-access-key": "sim-sungrow-access"}
    t = post("/sungrow/openapi/login", {"appkey": "sim-sungrow-appkey", "user_account": "sim",
             "user_password": "sim-sungrow-pass"}, h)["result_data"]["token"]
    page = 1
    while True:
        d = post("/sungrow/openapi/getPowerStationList", {"appkey": "sim-sungrow-appkey",
                 "token": t, "curPage": page, "size": 100}, h)["result_data"]
        for s in d["pageList"]:
            rows.append((str(s["ps_id"]), s["ps_name"], float(s["total_capcity"]["value"]),
                         s["latitude"], s["longitude"]))
        if page * 100 >= d["rowCount"]: break
        page += 1
for r in sorted(rows):
    print("%s|%s|%.4f|%.6f|%.6f" % r)
EOF
}
db_plants() {
	sql "SELECT external_id, name, capacity_kw, latitude, longitude FROM $S.plants WHERE vendor_id = $1" |
		python3 -c '
import sys
rows = sorted(l.rstrip("\n").split("|") for l in sys.stdin if l.strip())
for r in rows: print("%s|%s|%.4f|%.6f|%.6f" % (r[0], r[1], float(r[2]), float(r[3]), float(r[4])))'
}

# ---- first run: every plant of both accounts ---------------------------------------
run_job plant-sync 90
[ "$RUN_STATUS" = succeeded ] && ok "first run succeeded" || bad "first run: $RUN_STATUS $RUN_ERROR"
for v in solarman:$SM sungrow:$SG; do
	kind=${v%%:*} id=${v#*:}
	sim_plants "$kind" >"$T/sim-$kind"
	db_plants "$id" >"$T/db-$kind"
	n=$(wc -l <"$T/sim-$kind")
	if [ "$n" = $PLANTS ] && cmp -s "$T/sim-$kind" "$T/db-$kind"; then
		ok "$kind: the $n plants of the simulator's list, ids, names, capacity and place as it gives them"
	else
		bad "$kind: simulator $n plants, database $(wc -l <"$T/db-$kind"): $(diff "$T/sim-$kind" "$T/db-$kind" | head -4)"
	fi
done
row=$(sql "SELECT count(*) FILTER (WHERE today_energy_kwh IS NOT NULL AND total_energy_kwh >= today_energy_kwh AND current_power_w IS NOT NULL AND installed_at IS NOT NULL AND status = 'NORMAL') FROM $S.plants WHERE vendor_id = $SG")
[ "$row" = $PLANTS ] && ok "sungrow: power, energy (kWh), install date and status read from its quantities" || bad "sungrow columns: $row of $PLANTS"
row=$(sql "SELECT count(*) FILTER (WHERE vendor_updated_at IS NOT NULL AND installed_at IS NOT NULL AND timezone = 'Etc/UTC' AND org_id = $DEMO_ORG) FROM $S.plants WHERE vendor_id = $SM")
[ "$row" = $PLANTS ] && ok "solarman: update time, start time, zone and organisation stored" || bad "solarman columns: $row of $PLANTS"

# The summary is the seed's, and agrees with SQL.
keys=$(result 'sorted(j.keys())')
[ "$keys" = "['duration', 'failed', 'results', 'successful', 'totalPlantsCreated', 'totalPlantsSynced', 'totalPlantsUpdated', 'totalVendors']" ] &&
	ok "the result has the seed's summary keys" || bad "summary keys: $keys"
rkeys=$(result 'sorted(j["results"][0].keys())')
[ "$rkeys" = "['created', 'error', 'orgId', 'orgName', 'success', 'synced', 'total', 'updated', 'vendorId', 'vendorName']" ] &&
	ok "each vendor's entry has the seed's keys" || bad "entry keys: $rkeys"
got=$(result '(j["totalVendors"], j["successful"], j["failed"], j["totalPlantsSynced"], j["totalPlantsCreated"], j["totalPlantsUpdated"])')
want="(2, 2, 0, $(sql "SELECT count(*) FROM $S.plants"), $(sql "SELECT count(*) FROM $S.plants"), 0)"
[ "$got" = "$want" ] && ok "summary numbers match SQL: $got" || bad "summary $got, SQL says $want"
got="$(vres $SG vendorName)|$(vres $SG orgId)|$(vres $SG orgName)|$(vres $SG total)|$(vres $SG synced)|$(vres $SG error)"
want="$(sql "SELECT v.name || '|' || v.org_id || '|' || o.name FROM $S.vendors v JOIN $S.organizations o ON o.id = v.org_id WHERE v.id = $SG")|$PLANTS|$PLANTS|None"
[ "$got" = "$want" ] && ok "a vendor's entry: name, organisation, total, synced, error null" || bad "entry: '$got', want '$want'"
[ "$(result 'isinstance(j["duration"], (int, float)) and j["duration"] >= 0')" = True ] && ok "duration in ms ($(result 'j["duration"]'))" || bad "duration: $(result 'j["duration"]')"
[ "$(sql "SELECT count(*) FROM $S.vendors WHERE last_sync_at IS NOT NULL AND last_error IS NULL")" = 2 ] &&
	ok "vendors.last_sync_at set, last_error empty" || bad "vendor state: $(sql "SELECT id, last_sync_at, last_error FROM $S.vendors")"

# ---- tokens: stored sealed ------------------------------------------------------------------
row=$(sql "SELECT count(*) FROM $S.tokens WHERE owner = 'vendor' AND owner_key IN ('$SM', '$SG') AND access_token IS NOT NULL AND expires_at > now() AND refreshes = 1")
[ "$row" = 2 ] && ok "both tokens stored with their expiry, one refresh each" || bad "tokens: $(sql "SELECT owner_key, expires_at, refreshes FROM $S.tokens")"
sm_tok=$(sql "SELECT access_token FROM $S.tokens WHERE owner = 'vendor' AND owner_key = '$SM'")
sg_tok=$(sql "SELECT access_token FROM $S.tokens WHERE owner = 'vendor' AND owner_key = '$SG'")
# Sealed text is standard base64 of random-looking bytes, so a test on the
# text alone ("no eyJ in it") fails now and then by chance. A JWT has dots and
# an iSolarCloud token an underscore, neither of which base64 has; decoded, the
# bytes must not be the token's text either (base64 of it, not sealed).
clear=$(sql "SELECT count(*) FROM $S.tokens WHERE owner = 'vendor' AND owner_key IN ('$SM', '$SG')
	AND (access_token !~ '^[A-Za-z0-9+/]+=*\$'
	  OR position('eyJ'::bytea IN decode(access_token, 'base64')) = 1
	  OR position('880001_'::bytea IN decode(access_token, 'base64')) > 0)")
[ "$clear" = 0 ] && ok "tokens sealed at rest (base64, no JWT, no iSolarCloud token text in it or under it)" ||
	bad "a token stored in clear: ${sm_tok:0:20} ${sg_tok:0:20}"
meta=$(sql "SELECT metadata->>'uid' FROM $S.tokens WHERE owner_key = '$SM'")/$(sql "SELECT metadata->>'user_id' FROM $S.tokens WHERE owner_key = '$SG'")
[ "$meta" = "1001/880001" ] && ok "token metadata stored (Solarman uid, Sungrow user_id)" || bad "metadata: $meta"

# ---- re-run: nothing changes, the stored tokens are used -------------------------------
x0=$(xmins)
li_sm=$(logins solarman)
li_sg=$(logins sungrow)
run_job plant-sync 90
got=$(result '(j["successful"], j["totalPlantsSynced"], j["totalPlantsCreated"], j["totalPlantsUpdated"])')
[ "$RUN_STATUS" = succeeded ] && [ "$got" = "(2, $((2 * PLANTS)), 0, 0)" ] && ok "re-run: synced $((2 * PLANTS)), created 0, updated 0" || bad "re-run: $RUN_STATUS $got"
[ "$(xmins)" = "$x0" ] && ok "re-run rewrote no row (xmin unchanged)" || bad "re-run rewrote rows"
[ "$li_sm" -ge 1 ] && [ "$li_sg" -ge 1 ] && [ "$(logins solarman)" = "$li_sm" ] && [ "$(logins sungrow)" = "$li_sg" ] &&
	ok "stored tokens reused: no new login at either vendor" || bad "logins: solarman $li_sm -> $(logins solarman), sungrow $li_sg -> $(logins sungrow)"

# ---- a token within 5 minutes of its stored expiry is refreshed before use ---------------------
sql "UPDATE $S.tokens SET expires_at = now() + interval '4 minutes' WHERE owner = 'vendor' AND owner_key = '$SM'" >/dev/null
li=$(logins solarman) af=$(sim_stat solarman auth_failures) r0=$(tok_refreshes "$SM")
run_job plant-sync 90
if [ "$(vres $SM success)" = True ] && [ "$(logins solarman)" = $((li + 1)) ] && [ "$(sim_stat solarman auth_failures)" = "$af" ] &&
	[ "$(tok_refreshes "$SM")" = $((r0 + 1)) ] && [ "$(sql "SELECT expires_at > now() + interval '30 minutes' FROM $S.tokens WHERE owner = 'vendor' AND owner_key = '$SM'")" = t ]; then
	ok "a token 4 minutes from its stored expiry: refreshed before use (one login, no refused call), new expiry stored"
else
	bad "stale token: logins $li -> $(logins solarman), auth failures $af -> $(sim_stat solarman auth_failures), refreshes $r0 -> $(tok_refreshes "$SM")"
fi

# ---- an expired token is refreshed and stored back -----------------------------------------
for v in solarman:$SM sungrow:$SG; do
	kind=${v%%:*} id=${v#*:}
	r0=$(tok_refreshes "$id")
	t0=$(sql "SELECT access_token FROM $S.tokens WHERE owner = 'vendor' AND owner_key = '$id'")
	li=$(logins "$kind")
	sim_fault "$kind" '{"mode":"expired_token","count":1}'
	run_job plant-sync 90
	if [ "$RUN_STATUS" = succeeded ] && [ "$(vres "$id" success)" = True ] &&
		[ "$(logins "$kind")" = $((li + 1)) ] && [ "$(tok_refreshes "$id")" = $((r0 + 1)) ] &&
		[ "$(sql "SELECT access_token <> '$t0' FROM $S.tokens WHERE owner = 'vendor' AND owner_key = '$id'")" = t ]; then
		ok "$kind: expired token refreshed (one login), stored back (tokens.refreshes $r0 -> $((r0 + 1))), sync succeeded"
	else
		bad "$kind expired: $RUN_STATUS, logins $li -> $(logins "$kind"), refreshes $r0 -> $(tok_refreshes "$id"), $(vres "$id" error)"
	fi
	sim_clear
done

# ---- a revoked account fails alone ----------------------------------------------------------
sim_fault sungrow '{"mode":"revoked_token","count":0}'
run_job plant-sync 90
err=$(vres $SG error)
if [ "$RUN_STATUS" = succeeded ] && [ "$(result '(j["failed"], j["successful"])')" = "(1, 1)" ] &&
	[ "$(vres $SM success)" = True ] && echo "$err" | grep -qi revoked; then
	ok "revoked sungrow token: that vendor failed ('$err'), solarman synced (failed=1, successful=1)"
else
	bad "revoked: $RUN_STATUS $(result '(j["failed"], j["successful"])') sungrow error '$err'"
fi
le=$(sql "SELECT last_error FROM $S.vendors WHERE id = $SG")
echo "$le" | grep -qi revoked && ok "vendors.last_error records it" || bad "last_error: '$le'"
sim_clear
run_job plant-sync 90
[ "$(vres $SG success)" = True ] && [ -z "$(sql "SELECT last_error FROM $S.vendors WHERE id = $SG")" ] &&
	ok "once access is back, sungrow logs in again and syncs; last_error cleared" || bad "after revoke: $(vres $SG error)"

# ---- transient faults: retried, then success -----------------------------------------------
s0=$(sim_stat solarman status.429)
sim_fault solarman '{"mode":"429","count":2,"retry_after":1}'
t0=$(date +%s%N)
run_job plant-sync 90
t1=$(date +%s%N)
if [ "$RUN_STATUS" = succeeded ] && [ "$(vres $SM success)" = True ] && [ "$(vres $SM synced)" = $PLANTS ] &&
	[ "$(sim_stat solarman status.429)" = $((s0 + 2)) ]; then
	ok "solarman 429 with Retry-After (twice): retried, synced $PLANTS ($(((t1 - t0) / 1000000)) ms, Retry-After honoured)"
else
	bad "429: $RUN_STATUS $(vres $SM error); 429s $s0 -> $(sim_stat solarman status.429)"
fi
[ $(((t1 - t0) / 1000000)) -ge 2000 ] || bad "two Retry-After: 1 waits took under 2 s"
sim_clear
s0=$(sim_stat sungrow status.500)
sim_fault sungrow '{"mode":"500","count":2}'
run_job plant-sync 90
if [ "$RUN_STATUS" = succeeded ] && [ "$(vres $SG success)" = True ] && [ "$(vres $SG synced)" = $PLANTS ] &&
	[ "$(sim_stat sungrow status.500)" = $((s0 + 2)) ]; then
	ok "sungrow 500 (twice): retried, synced $PLANTS"
else
	bad "500: $RUN_STATUS $(vres $SG error); 500s $s0 -> $(sim_stat sungrow status.500)"
fi
sim_clear

# ---- faults that do not go away: a clear error, the other vendor synced --------------------
x0=$(xmins)
# fails_alone <vendor> <its id> <the other's id> <fault> <timeout> <error
# regex, case ignored> <what>: with the fault armed on the vendor for good, a
# run where it fails with an error matching the regex while the other syncs.
fails_alone() {
	local err
	sim_fault "$1" "$4"
	run_job plant-sync "$5"
	err=$(vres "$2" error)
	if [ "$(vres "$3" success)" = True ] && [ "$(vres "$2" success)" = False ] && echo "$err" | grep -qiE "$6"; then
		ok "$7: '$err'; the other vendor synced"
	else
		bad "$7: $RUN_STATUS, $1 error '$err', the other vendor's success $(vres "$3" success)"
	fi
	sim_clear
}
fails_alone solarman "$SM" "$SG" '{"mode":"slow","count":0,"delay_ms":4000}' 120 \
	'timed? ?out|deadline' "solarman slow beyond the 2 s timeout"
fails_alone sungrow "$SG" "$SM" '{"mode":"malformed","count":0}' 90 'not JSON' "sungrow malformed JSON"
[ "$(xmins)" = "$x0" ] && [ "$(sql "SELECT count(*) FROM $S.plants")" = $((2 * PLANTS)) ] &&
	ok "failed vendors lost and rewrote nothing" || bad "plants changed after failures"

# partial_page: a page shorter than the total promises is asked again;
# twice short, the vendor fails and nothing is written.
f0=$(sim_stat solarman faults_fired)
sim_fault solarman '{"mode":"partial_page","count":1}'
run_job plant-sync 90
if [ "$(vres $SM success)" = True ] && [ "$(vres $SM synced)" = $PLANTS ] && [ "$(sim_stat solarman faults_fired)" = $((f0 + 1)) ] &&
	grep -q 'a short page was asked again' "$T/ingest.log"; then
	ok "partial page (once): detected, the page asked again, all $PLANTS plants synced"
else
	bad "partial once: $(vres $SM success) $(vres $SM synced) $(vres $SM error)"
fi
sim_fault solarman '{"mode":"partial_page","count":0}'
run_job plant-sync 90
err=$(vres $SM error)
if [ "$(vres $SM success)" = False ] && echo "$err" | grep -q 'partial answer' && [ "$(xmins)" = "$x0" ]; then
	ok "partial page (every time): detected, solarman failed ('$err'), nothing half-written"
else
	bad "partial always: $(vres $SM success) '$err'"
fi
sim_clear

# ---- every vendor failing fails the run ------------------------------------------------------
sim_fault solarman '{"mode":"malformed","count":0}'
sim_fault sungrow '{"mode":"malformed","count":0}'
run_job plant-sync 120
if [ "$RUN_STATUS" = failed ] && echo "$RUN_ERROR" | grep -q 'all 2 vendors failed' && [ "$(result 'j["failed"]')" = 2 ]; then
	ok "every vendor failing fails the run: '$RUN_ERROR' (summary kept)"
else
	bad "all failed: $RUN_STATUS '$RUN_ERROR'"
fi
sim_clear

# ---- wrong credentials: a clear error naming the vendor's refusal -------------------------------
BS=$(ing_id "vendor-put {\"org\":\"demo\",\"name\":\"Solarman typo\",\"kind\":\"solarman\",\"base_url\":\"$SIM/solarman\",\"credentials\":{\"app_id\":\"sim-solarman-app\",\"app_secret\":\"sim-solarman-secret\",\"email\":\"sim@example.com\",\"password\":\"wrong-pass-$$\"}}")
BG=$(ing_id "vendor-put {\"org\":\"acme\",\"name\":\"Sungrow typo\",\"kind\":\"sungrow\",\"base_url\":\"$SIM/sungrow\",\"credentials\":{\"appkey\":\"sim-sungrow-appkey\",\"access_key\":\"sim-sungrow-access\",\"user\":\"sim\",\"password\":\"wrong-pass-$$\"}}")
BK=$(ing_id "vendor-put {\"org\":\"acme\",\"name\":\"Sungrow half\",\"kind\":\"sungrow\",\"base_url\":\"$SIM/sungrow\",\"credentials\":{\"appkey\":\"sim-sungrow-appkey\"}}")
run_job plant-sync 90
e1=$(vres "$BS" error) e2=$(vres "$BG" error) e3=$(vres "$BK" error)
if [ "$RUN_STATUS" = succeeded ] && [ "$(result '(j["successful"], j["failed"])')" = "(2, 3)" ] &&
	echo "$e1" | grep -q '2101017' && echo "$e2" | grep -q 'wrong account or password' && echo "$e3" | grep -q 'lack "access_key"'; then
	ok "wrong credentials fail alone: '$e1' / '$e2' / '$e3'"
else
	bad "wrong credentials: $RUN_STATUS $(result '(j["successful"], j["failed"])') '$e1' '$e2' '$e3'"
fi
grep -q "wrong-pass-$$" "$T/ingest.log" && bad "a wrong password reached the log"
for v in $BS $BG $BK; do ing_ok "vendor-put {\"id\":$v,\"active\":false}" >/dev/null; done

# ---- concurrency: at most 5 vendors at once ---------------------------------------------------
# Six more Sungrow accounts, every Sungrow answer 1.5 s slow: a vendor
# takes a login and 3 pages (6 s); five at once means two waves.
ing_ok "vendor-put {\"id\":$SM,\"active\":false}" >/dev/null
ing_ok "vendor-put {\"id\":$SG,\"active\":false}" >/dev/null
for i in 1 2 3 4 5 6; do
	ing_ok "vendor-put {\"org\":\"acme\",\"name\":\"Sungrow $i\",\"kind\":\"sungrow\",\"base_url\":\"$SIM/sungrow\",\"credentials\":{\"appkey\":\"sim-sungrow-appkey\",\"access_key\":\"sim-sungrow-access\",\"user\":\"sim\",\"password\":\"sim-sungrow-pass\"}}" >/dev/null
done
sim_fault sungrow '{"mode":"slow","count":0,"delay_ms":1500}'
run_job plant-sync 120
d=$(result 'j["duration"]')
if [ "$RUN_STATUS" = succeeded ] && [ "$(result 'j["successful"]')" = 6 ] && [ "${d%.*}" -ge 11500 ] && [ "${d%.*}" -lt 20000 ]; then
	ok "6 vendors of 6 s each took $d ms: in parallel, at most 5 at once"
else
	bad "concurrency: $RUN_STATUS successful $(result 'j["successful"]') in $d ms"
fi
sim_clear

# ---- secrets never in the log or the run records ----------------------------------------------
sql "SELECT coalesce(result::text, '') || coalesce(error, '') FROM $S.job_runs" >"$T/runs.txt"
sql "SELECT coalesce(last_error, '') FROM $S.vendors" >>"$T/runs.txt"
leaks=""
for s in sim-solarman-pass sim-solarman-secret sim-sungrow-pass sim-sungrow-access sim-sungrow-appkey \
	"$(printf %s sim-solarman-pass | sha256sum | cut -c1-64)" eyJ 880001_; do
	grep -qF -- "$s" "$T/ingest.log" "$T/runs.txt" && leaks="$leaks ${s:0:12}"
done
[ -z "$leaks" ] && ok "no password, key, hash or token in the log (debug level) or the run records" || bad "leaked:$leaks"

stop_ingest
svc_finish
