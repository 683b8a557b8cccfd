#!/bin/bash
# integration.vendor_sim: the real cronfleet-vendor-sim over real sockets.
# Every vendor's routes with and without credentials (shapes checked with
# python3's json), determinism (a second simulator with the same seed and
# time answers the same bytes; a later time, more data), each fault mode
# once, bad input to the simulator, bad configuration (exit 2) and
# SIGTERM (exit 0, even with a slow response in flight).
#
# Usage: test_vendor_sim.sh <bin dir>. Ports: 10000-10499, from the pid.
bindir=${1:?usage: test_vendor_sim.sh <bin dir>}
sim=$bindir/cronfleet-vendor-sim
. "$(dirname "$0")/test_service_lib.sh"

T=$(mktemp -d)
sim_pids=()
cleanup() {
	for p in "${sim_pids[@]}"; do own_kill KILL "$p"; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

for k in $(seq 0 49); do
	base=$((10000 + ((($$ + k) % 50) * 10)))
	ports_free $base $((base + 9)) && break
done
A=http://127.0.0.1:$base
B=http://127.0.0.1:$((base + 1))
NOW=2025-06-01T12:07:00Z

# start_sim <port> [NAME=value...]: a simulator answering on the port.
start_sim() {
	local port=$1
	shift
	env CRONFLEET_SIM_ADDR=127.0.0.1:$port CRONFLEET_SIM_NOW=$NOW \
		CRONFLEET_LOG_LEVEL=debug "$@" "$sim" 2>>"$T/sim-$port.log" &
	sim_pids+=($!)
	last_pid=$!
	poll 20 curl -sf -o /dev/null "http://127.0.0.1:$port/_sim" ||
		bad "the simulator on $port does not answer"
}

# call <name> <curl args...>: the body in $T/<name>, the status in $code,
# the headers in $T/<name>.h.
call() {
	local name=$1
	shift
	code=$(curl -s -m 10 -o "$T/$name" -D "$T/$name.h" -w '%{http_code}' "$@")
}

# expect <name> <status> <python expression on d (the parsed body)>
expect() {
	local name=$1 want=$2 expr=$3 got
	if [ "$code" != "$want" ]; then
		bad "$name: status $code, expected $want: $(head -c 300 "$T/$name")"
		return
	fi
	got=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("yes" if eval(sys.argv[2]) else "no")' "$T/$name" "$expr" 2>&1)
	if [ "$got" = yes ]; then ok "$name"; else bad "$name: $expr: $got: $(head -c 300 "$T/$name")"; fi
}

# field <name> <python expression>: prints the value.
field() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$T/$1" "$2"
}

hdr() { grep -i "^$2:" "$T/$1.h" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

# jwt_claims <token>: the payload, decoded.
jwt_ok() {
	python3 -c '
import base64, json, sys
p = sys.argv[1].split(".")[1]
c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
sys.exit(0 if c["exp"] > c["iat"] and len(sys.argv[1].split(".")) == 3 else 1)' "$1"
}

# --- Configuration --------------------------------------------------------
out=$(CRONFLEET_SIM_SITES=0 "$sim" 2>&1)
rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q CRONFLEET_SIM_SITES &&
	ok "a bad CRONFLEET_SIM_SITES: exit 2 naming it" ||
	bad "bad CRONFLEET_SIM_SITES: rc $rc, '$out'"
out=$(CRONFLEET_SIM_MAYSTRO_RENAME=LIVRÉ "$sim" 2>&1)
rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q CRONFLEET_SIM_MAYSTRO_RENAME &&
	ok "a CRONFLEET_SIM_MAYSTRO_RENAME without '=': exit 2 naming it" ||
	bad "bad CRONFLEET_SIM_MAYSTRO_RENAME: rc $rc, '$out'"
out=$(CRONFLEET_SIM_NOW=yesterday "$sim" 2>&1)
rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q CRONFLEET_SIM_NOW &&
	ok "a bad CRONFLEET_SIM_NOW: exit 2 naming it" ||
	bad "bad CRONFLEET_SIM_NOW: rc $rc, '$out'"

start_sim $base
pid_a=$last_pid

call index $A/_sim
expect index 200 'len(d["vendors"]) == 10 and d["now"] == "2025-06-01T12:07:00Z"'

# --- Enphase --------------------------------------------------------------
call en_nokey "$A/enphase/api/v4/systems?key="
expect en_nokey 401 'd["code"] == 401 and "message" in d'
call en_notok "$A/enphase/api/v4/systems?key=sim-enphase-key"
expect en_notok 401 'd["error"] == "unauthorized"'
call en_badclient -X POST -u nobody:wrong "$A/enphase/oauth/token?grant_type=refresh_token&refresh_token=sim-enphase-refresh"
expect en_badclient 401 'd["error"] == "unauthorized"'
call en_badgrant -X POST -u sim-enphase-client:sim-enphase-secret "$A/enphase/oauth/token?grant_type=refresh_token&refresh_token=forged"
expect en_badgrant 400 'd["error"] == "invalid_grant"'
call en_token -X POST -u sim-enphase-client:sim-enphase-secret "$A/enphase/oauth/token?grant_type=refresh_token&refresh_token=sim-enphase-refresh"
expect en_token 200 'd["token_type"] == "bearer" and d["expires_in"] == 3600 and d["refresh_token"]'
EAT=$(field en_token 'd["access_token"]')
ERT=$(field en_token 'd["refresh_token"]')
jwt_ok "$EAT" && ok "enphase: the access token is a JWT with exp" || bad "enphase token is not a JWT with exp"
call en_systems -H "Authorization: Bearer $EAT" "$A/enphase/api/v4/systems?key=sim-enphase-key"
expect en_systems 200 'd["total"] == 3 and [s["system_id"] for s in d["systems"]] == [4001, 4002, 4003]'
call en_tele -H "Authorization: Bearer $EAT" "$A/enphase/api/v4/systems/4001/telemetry/production_micro?key=sim-enphase-key&granularity=day"
expect en_tele 200 'len(d["intervals"]) == 48 and d["intervals"][-1]["end_at"] == 1748779200 and all(i["enwh"] * 4 == i["powr"] for i in d["intervals"]) and sum(i["enwh"] for i in d["intervals"]) > 0'
call en_cons -H "Authorization: Bearer $EAT" "$A/enphase/api/v4/systems/4002/telemetry/consumption_meter?key=sim-enphase-key&start_at=1748736000"
expect en_cons 200 'len(d["intervals"]) == 48 and all(i["powr"] > 0 for i in d["intervals"])'
call en_404 -H "Authorization: Bearer $EAT" "$A/enphase/api/v4/systems/999/telemetry/production_micro?key=sim-enphase-key"
expect en_404 404 'd["code"] == 404'
call en_badgr -H "Authorization: Bearer $EAT" "$A/enphase/api/v4/systems/4001/telemetry/production_micro?key=sim-enphase-key&granularity=year"
expect en_badgr 400 'd["code"] == 400 and "granularity" in d["details"]'
# A later virtual time: more intervals; the token is past its exp then.
call en_later -H "Authorization: Bearer $EAT" -H "X-Sim-Now: 2025-06-01T12:37:00Z" "$A/enphase/api/v4/systems/4001/telemetry/production_micro?key=sim-enphase-key&start_at=1748736000"
expect en_later 200 'len(d["intervals"]) == 50'
call en_expired -H "Authorization: Bearer $EAT" -H "X-Sim-Now: 2025-06-01T14:00:00Z" "$A/enphase/api/v4/systems?key=sim-enphase-key"
expect en_expired 401 'd["error"] == "invalid_token" and "expired" in d["error_description"]'

# --- SolarEdge ------------------------------------------------------------
SE="startTime=2025-06-01%2010:00:00&endTime=2025-06-01%2013:00:00"
call se_nokey "$A/solaredge/site/2001/energyDetails?$SE"
expect se_nokey 403 '"Invalid token" in d["String"]'
call se_badkey "$A/solaredge/site/2001/energyDetails?$SE&api_key=nope"
expect se_badkey 403 'd["String"] == "Invalid token"'
call se_list "$A/solaredge/sites/list?api_key=sim-solaredge-key"
expect se_list 200 'd["sites"]["count"] == 3 and d["sites"]["site"][0]["id"] == 2001'
call se_energy "$A/solaredge/site/2001/energyDetails?$SE&timeUnit=HOUR&meters=PRODUCTION,CONSUMPTION&api_key=sim-solaredge-key"
expect se_energy 200 'd["energyDetails"]["unit"] == "Wh" and [m["type"] for m in d["energyDetails"]["meters"]] == ["Production", "Consumption"] and [("value" in v) for v in d["energyDetails"]["meters"][0]["values"]] == [True, True, False]'
call se_power "$A/solaredge/site/2003/powerDetails?$SE&api_key=sim-solaredge-key"
expect se_power 200 'd["powerDetails"]["unit"] == "W" and d["powerDetails"]["timeUnit"] == "QUARTER_OF_AN_HOUR" and len(d["powerDetails"]["meters"]) == 5 and len(d["powerDetails"]["meters"][0]["values"]) == 12'
call se_badtime "$A/solaredge/site/2001/energyDetails?startTime=soon&endTime=later&api_key=sim-solaredge-key"
expect se_badtime 400 '"startTime" in d["String"]'
call se_toolong "$A/solaredge/site/2001/energyDetails?startTime=2025-01-01%2000:00:00&endTime=2025-06-01%2000:00:00&timeUnit=QUARTER_OF_AN_HOUR&api_key=sim-solaredge-key"
expect se_toolong 403 '"exceeds" in d["String"]'

# --- Tesla ----------------------------------------------------------------
call te_notok "$A/tesla/api/1/products"
expect te_notok 401 'd["response"] is None and d["error"] == "invalid bearer token"'
call te_badrt -X POST -d grant_type=refresh_token -d client_id=sim-tesla-client -d refresh_token=forged "$A/tesla/oauth2/v3/token"
expect te_badrt 401 'd["error"] == "login_required"'
call te_token -X POST -d grant_type=refresh_token -d client_id=sim-tesla-client -d refresh_token=sim-tesla-refresh "$A/tesla/oauth2/v3/token"
expect te_token 200 'd["token_type"] == "Bearer" and d["expires_in"] == 3600'
TAT=$(field te_token 'd["access_token"]')
TRT=$(field te_token 'd["refresh_token"]')
jwt_ok "$TAT" && ok "tesla: the access token is a JWT with exp" || bad "tesla token is not a JWT with exp"
call te_products -H "Authorization: Bearer $TAT" "$A/tesla/api/1/products"
expect te_products 200 'd["count"] == 3 and d["response"][0]["energy_site_id"] == 3001'
call te_hist -H "Authorization: Bearer $TAT" "$A/tesla/api/1/energy_sites/3001/calendar_history?kind=energy&period=day&start_date=2025-06-01T00:00:00Z&end_date=2025-06-01T23:59:59Z&time_zone=Etc/UTC"
expect te_hist 200 'len(d["response"]["time_series"]) == 48 and d["response"]["time_series"][0]["timestamp"] == "2025-06-01T00:00:00+00:00" and sum(e["solar_energy_exported"] for e in d["response"]["time_series"]) > 0 and all(abs(e["consumer_energy_imported_from_grid"] + e["consumer_energy_imported_from_solar"] + e["consumer_energy_imported_from_battery"] - e["grid_energy_imported"] - e["consumer_energy_imported_from_solar"] - e["battery_energy_exported"]) < 0.01 for e in d["response"]["time_series"])'
call te_badkind -H "Authorization: Bearer $TAT" "$A/tesla/api/1/energy_sites/3001/calendar_history?kind=power"
expect te_badkind 400 'd["response"] is None and "kind" in d["error"]'
call te_404 -H "Authorization: Bearer $TAT" "$A/tesla/api/1/energy_sites/77/calendar_history?kind=energy"
expect te_404 404 'd["error"] == "not_found"'

# --- UtilityAPI -----------------------------------------------------------
call ua_notok "$A/utilityapi/api/v2/meters"
expect ua_notok 401 '"error" in d'
call ua_meters -H "Authorization: Bearer sim-utilityapi-token" "$A/utilityapi/api/v2/meters"
expect ua_meters 200 '[m["uid"] for m in d["meters"]] == ["5001", "5002", "5003"] and d["next"] is None'
call ua_iv -H "Authorization: Bearer sim-utilityapi-token" "$A/utilityapi/api/v2/intervals?meters=5001,5002&start=2025-06-01T00:00:00Z&limit=40"
expect ua_iv 200 'len(d["intervals"]) == 1 and d["intervals"][0]["meter_uid"] == "5001" and len(d["intervals"][0]["readings"]) == 40 and d["intervals"][0]["readings"][0]["datapoints"][0]["unit"] == "kwh" and "next=m0o40" in d["next"]'
NEXT=$(field ua_iv 'd["next"]')
call ua_iv2 -H "Authorization: Bearer sim-utilityapi-token" "$NEXT"
expect ua_iv2 200 'len(d["intervals"][0]["readings"]) == 8 and d["intervals"][0]["readings"][0]["start"] == "2025-06-01T10:00:00Z" and "next=m1o0" in d["next"]'
call ua_badmeter -H "Authorization: Bearer sim-utilityapi-token" "$A/utilityapi/api/v2/intervals?meters=42"
expect ua_badmeter 404 '"42" in d["error"]'

# --- WattTime -------------------------------------------------------------
call wt_nologin "$A/watttime/login"
expect wt_nologin 401 'd["error"] == "Unauthorized"'
call wt_badlogin -u sim:wrong "$A/watttime/login"
expect wt_badlogin 401 '"password" in d["message"]'
call wt_login -u sim:sim-watttime-pass "$A/watttime/login"
expect wt_login 200 'd["token"].count(".") == 2'
WT=$(field wt_login 'd["token"]')
call wt_notok "$A/watttime/v3/forecast?region=CAISO_NORTH&signal_type=co2_moer"
expect wt_notok 401 '"login" in d["message"]'
call wt_fc -H "Authorization: Bearer $WT" "$A/watttime/v3/forecast?region=CAISO_NORTH&signal_type=co2_moer"
expect wt_fc 200 'len(d["data"]) == 288 and d["meta"]["region"] == "CAISO_NORTH" and d["meta"]["generated_at"] == "2025-06-01T12:05:00Z" and d["data"][0]["point_time"] == "2025-06-01T12:05:00+00:00" and d["meta"]["units"] == "lbs_co2_per_mwh"'
[ -n "$(hdr wt_fc X-RateLimit-Remaining)" ] && ok "watttime: X-RateLimit-Remaining sent" || bad "watttime: no X-RateLimit-Remaining"
call wt_badsig -H "Authorization: Bearer $WT" "$A/watttime/v3/forecast?region=CAISO_NORTH&signal_type=nope"
expect wt_badsig 400 '"signal_type" in d["message"]'

# --- Electricity Maps -----------------------------------------------------
call emap_notok "$A/electricitymaps/v3/carbon-intensity/forecast?zone=DE"
expect emap_notok 401 'd["status"] == "error"'
call emap_fc -H "auth-token: sim-electricitymaps-token" "$A/electricitymaps/v3/carbon-intensity/forecast?zone=DE"
expect emap_fc 200 'd["zone"] == "DE" and len(d["forecast"]) == 24 and d["forecast"][0]["datetime"] == "2025-06-01T12:00:00.000Z" and all(100 < f["carbonIntensity"] < 1000 for f in d["forecast"])'
call emap_zone -H "auth-token: sim-electricitymaps-token" "$A/electricitymaps/v3/carbon-intensity/forecast?zone=nowhere"
expect emap_zone 404 '"does not exist" in d["message"]'

# --- Solarman -------------------------------------------------------------
PW=$(printf %s sim-solarman-pass | sha256sum | cut -d' ' -f1)
SMT='{"appSecret":"sim-solarman-secret","email":"sim@example.com","password":"'$PW'"}'
call sm_badpw -X POST -H 'Content-Type: application/json' -d '{"appSecret":"sim-solarman-secret","email":"sim@example.com","password":"plain"}' "$A/solarman/account/v1.0/token?appId=sim-solarman-app&language=en"
expect sm_badpw 401 'd["success"] is False and d["code"] == "2101017"'
call sm_token -X POST -H 'Content-Type: application/json' -d "$SMT" "$A/solarman/account/v1.0/token?appId=sim-solarman-app&language=en"
expect sm_token 200 'd["success"] is True and d["token_type"] == "bearer" and d["expires_in"] == "3600"'
SMA=$(field sm_token 'd["access_token"]')
call sm_notok -X POST -d '{"page":1,"size":10}' "$A/solarman/station/v1.0/list?language=en"
expect sm_notok 401 'd["success"] is False and d["code"] == "2101018"'
call sm_list -X POST -H "Authorization: bearer $SMA" -d '{"page":2,"size":15}' "$A/solarman/station/v1.0/list?language=en"
expect sm_list 200 'd["success"] and d["total"] == 40 and len(d["stationList"]) == 15 and d["stationList"][0]["id"] == 60000016'
call sm_badsize -X POST -H "Authorization: bearer $SMA" -d '{"page":1,"size":1000}' "$A/solarman/station/v1.0/list?language=en"
expect sm_badsize 400 'd["code"] == "2101006"'
# Near the epoch, only the plants commissioned so far.
call sm_early -X POST -H "Authorization: bearer $SMA" -H "X-Sim-Now: 2024-01-03T12:00:00Z" -d '{"page":1,"size":100}' "$A/solarman/station/v1.0/list?language=en"
expect sm_early 200 'd["total"] == 3 and len(d["stationList"]) == 3'

# --- Sungrow --------------------------------------------------------------
SGL='{"appkey":"sim-sungrow-appkey","user_account":"sim","user_password":"sim-sungrow-pass","lang":"_en_US"}'
call sg_badkey -X POST -H 'x-access-key: wrong' -d "$SGL" "$A/sungrow/openapi/login"
expect sg_badkey 200 'd["result_code"] == "E912"'
call sg_badpw -X POST -H 'x-access-key: sim-sungrow-access' -d '{"appkey":"sim-sungrow-appkey","user_account":"sim","user_password":"x"}' "$A/sungrow/openapi/login"
expect sg_badpw 200 'd["result_code"] == "1" and d["result_data"]["login_state"] == "0"'
call sg_login -X POST -H 'x-access-key: sim-sungrow-access' -d "$SGL" "$A/sungrow/openapi/login"
expect sg_login 200 'd["result_code"] == "1" and d["result_data"]["login_state"] == "1" and d["result_data"]["token"].startswith("880001_")'
SGT=$(field sg_login 'd["result_data"]["token"]')
call sg_badtok -X POST -H 'x-access-key: sim-sungrow-access' -d '{"appkey":"sim-sungrow-appkey","token":"880001_00","curPage":1,"size":10}' "$A/sungrow/openapi/getPowerStationList"
expect sg_badtok 200 'd["result_code"] == "E00003"'
call sg_list -X POST -H 'x-access-key: sim-sungrow-access' -d '{"appkey":"sim-sungrow-appkey","token":"'$SGT'","curPage":1,"size":25}' "$A/sungrow/openapi/getPowerStationList"
expect sg_list 200 'd["result_code"] == "1" and d["result_data"]["rowCount"] == 40 and len(d["result_data"]["pageList"]) == 25 and d["result_data"]["pageList"][0]["total_capcity"]["unit"] == "kWp"'

# --- EcoManager -----------------------------------------------------------
call ec_notok "$A/ecomanager/store-1/api/shop/v2/orders"
expect ec_notok 401 'd["message"] == "Unauthenticated."'
call ec_store -H "Authorization: Bearer sim-ecomanager-token" "$A/ecomanager/store-9/api/shop/v2/orders"
expect ec_store 404 'd["message"] == "Not Found"'
call ec_perpage -H "Authorization: Bearer sim-ecomanager-token" "$A/ecomanager/store-1/api/shop/v2/orders?per_page=500"
expect ec_perpage 422 '"per_page" in d["errors"]'
call ec_p1 -H "Authorization: Bearer sim-ecomanager-token" "$A/ecomanager/store-1/api/shop/v2/orders?page=1&per_page=25"
expect ec_p1 200 'len(d["data"]) == 25 and d["data"][0]["reference"] == "EM-1-1" and d["meta"]["total"] > 70000 and d["meta"]["last_page"] == -(-d["meta"]["total"] // 25) and [o["id"] for o in d["data"]] == sorted(o["id"] for o in d["data"])'
TOTAL=$(field ec_p1 'd["meta"]["total"]')
call ec_later -H "Authorization: Bearer sim-ecomanager-token" -H "X-Sim-Now: 2025-06-01T14:07:00Z" "$A/ecomanager/store-1/api/shop/v2/orders?page=1&per_page=25"
expect ec_later 200 "d['meta']['total'] >= $TOTAL + 11"

# --- Maystro --------------------------------------------------------------
call my_notok "$A/maystro/api/stores/orders/"
expect my_notok 401 'd["detail"] == "Authentication credentials were not provided."'
call my_badtok -H "Authorization: Token nope" "$A/maystro/api/stores/orders/"
expect my_badtok 401 'd["detail"] == "Invalid token."'
call my_p1 -H "Authorization: Token sim-maystro-key" "$A/maystro/api/stores/orders/?page=1&page_size=100"
expect my_p1 200 'd["count"] > 100 and len(d["results"]) == 100 and d["previous"] is None and "page=2" in d["next"] and d["results"][0]["status"] == "EN ATTENTE"'
call my_old -H "Authorization: Token sim-maystro-key" "$A/maystro/api/stores/orders/?page=50&page_size=100"
expect my_old 200 'set(r["status"] for r in d["results"]) <= {"LIVRÉ", "RETOURNÉ", "ANNULÉ"} and "LIVRÉ" in set(r["status"] for r in d["results"]) and all(r["external_order_id"].startswith("EM-") for r in d["results"])'
call my_past -H "Authorization: Token sim-maystro-key" "$A/maystro/api/stores/orders/?page=999999"
expect my_past 404 'd["detail"] == "Invalid page."'

# --- Bad input to the simulator itself --------------------------------------
call sim_novendor "$A/nobody/x"
expect sim_novendor 404 '"no such vendor" in d["error"]'
call sim_badnow -H "X-Sim-Now: whenever" "$A/_sim"
expect sim_badnow 400 '"X-Sim-Now" in d["error"]'
call sim_badmode -X PUT -d '{"mode":"explode"}' "$A/_sim/faults/enphase"
expect sim_badmode 400 'd["error"].startswith("mode:")'
call sim_badvendor -X PUT -d '{"mode":"500"}' "$A/_sim/faults/acme"
expect sim_badvendor 404 '"acme" in d["error"]'
call sim_badjson -X PUT -d '{"mode":' "$A/_sim/faults/enphase"
expect sim_badjson 400 '"JSON" in d["error"]'
call sim_badcount -X PUT -d '{"mode":"500","count":-1}' "$A/_sim/faults/enphase"
expect sim_badcount 400 'd["error"].startswith("count:")'

# --- Determinism ------------------------------------------------------------
start_sim $((base + 1))
pid_b=$last_pid
same=1
for u in "/solaredge/site/2002/energyDetails?$SE&api_key=sim-solaredge-key|X-None: 1" \
	"/ecomanager/store-2/api/shop/v2/orders?page=7&per_page=50|Authorization: Bearer sim-ecomanager-token" \
	"/maystro/api/stores/orders/?page=3|Authorization: Token sim-maystro-key" \
	"/watttime/v3/forecast?region=PJM_DC&signal_type=co2_aoer|Authorization: Bearer $WT"; do
	h=${u#*|}
	u=${u%%|*}
	code_a=$(curl -s -o "$T/da" -w '%{http_code}' -H "$h" "$A$u")
	# Links name the server they came from: the port differs.
	curl -s -H "$h" "$B$u" | sed "s/:$((base + 1))\//:$base\//g" >"$T/db"
	[ "$code_a" = 200 ] && cmp -s "$T/da" "$T/db" || { same=0; echo "differs or failed ($code_a): $u"; }
done
[ $same = 1 ] && ok "same seed and time: the same bytes from two simulators" || bad "two simulators with the same seed differ"
own_kill TERM $pid_b
wait $pid_b
start_sim $((base + 1)) CRONFLEET_SIM_SEED=7
pid_b=$last_pid
curl -s "$A/solaredge/site/2002/energyDetails?$SE&api_key=sim-solaredge-key" >"$T/da"
curl -s "$B/solaredge/site/2002/energyDetails?$SE&api_key=sim-solaredge-key" >"$T/db"
cmp -s "$T/da" "$T/db" && bad "another seed gave the same data" || ok "another seed: other data"
own_kill TERM $pid_b
wait $pid_b

# --- Faults -----------------------------------------------------------------
put_fault() { curl -s -o /dev/null -w '%{http_code}' -X PUT -d "$2" "$A/_sim/faults/$1"; }

[ "$(put_fault solaredge '{"mode":"429","count":1,"retry_after":7}')" = 200 ] || bad "PUT a 429 fault"
call f429 "$A/solaredge/sites/list?api_key=sim-solaredge-key"
expect f429 429 '"String" in d'
[ "$(hdr f429 Retry-After)" = 7 ] && ok "429 carries Retry-After: 7" || bad "429 Retry-After is '$(hdr f429 Retry-After)'"
call f429b "$A/solaredge/sites/list?api_key=sim-solaredge-key"
expect f429b 200 'd["sites"]["count"] == 3'

put_fault electricitymaps '{"mode":"500","count":2}' >/dev/null
call f500 -H "auth-token: sim-electricitymaps-token" "$A/electricitymaps/v3/carbon-intensity/forecast?zone=FR"
expect f500 500 'd["status"] == "error"'
call f500b -H "auth-token: sim-electricitymaps-token" "$A/electricitymaps/v3/carbon-intensity/forecast?zone=FR"
expect f500b 500 'd["status"] == "error"'
call f500c -H "auth-token: sim-electricitymaps-token" "$A/electricitymaps/v3/carbon-intensity/forecast?zone=FR"
expect f500c 200 'd["zone"] == "FR"'

# skip: the first requests go through, then the fault (Maystro's page 1
# answered, the pages after it failing).
put_fault maystro '{"mode":"500","count":0,"skip":1}' >/dev/null
call fskip1 -H "Authorization: Token sim-maystro-key" "$A/maystro/api/stores/orders/?page=1"
expect fskip1 200 'len(d["results"]) == 50'
call fskip2 -H "Authorization: Token sim-maystro-key" "$A/maystro/api/stores/orders/?page=2"
expect fskip2 500 '"detail" in d'
call fskip3 -H "Authorization: Token sim-maystro-key" "$A/maystro/api/stores/orders/?page=1"
expect fskip3 500 '"detail" in d'
call fskipt "$A/_sim/faults"
expect fskipt 200 'd["faults"]["maystro"]["skip"] == 0 and d["faults"]["maystro"]["fired"] == 2'
curl -s -o /dev/null -X DELETE "$A/_sim/faults"
call sim_badskip -X PUT -d '{"mode":"500","skip":"two"}' "$A/_sim/faults/maystro"
expect sim_badskip 400 'd["error"].startswith("skip:")'

put_fault utilityapi '{"mode":"slow","count":1,"delay_ms":3000}' >/dev/null
t0=$(date +%s%N)
curl -s -m 1 -o /dev/null -H "Authorization: Bearer sim-utilityapi-token" "$A/utilityapi/api/v2/meters"
rc=$?
[ $rc -eq 28 ] && ok "slow: a 1 s client timeout fires" || bad "slow: curl rc $rc, expected 28 (timeout)"
call fslow -H "Authorization: Bearer sim-utilityapi-token" "$A/utilityapi/api/v2/meters"
expect fslow 200 'len(d["meters"]) == 3'

put_fault tesla '{"mode":"malformed","count":1}' >/dev/null
call fmal -H "Authorization: Bearer $TAT" "$A/tesla/api/1/products"
if [ "$code" = 200 ] && ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/fmal" 2>/dev/null; then
	ok "malformed: 200 with a body that does not parse"
else
	bad "malformed: status $code, body '$(head -c 100 "$T/fmal")'"
fi
call fmal2 -H "Authorization: Bearer $TAT" "$A/tesla/api/1/products"
expect fmal2 200 'd["count"] == 3'

put_fault ecomanager '{"mode":"partial_page","count":1}' >/dev/null
call fpart -H "Authorization: Bearer sim-ecomanager-token" "$A/ecomanager/store-1/api/shop/v2/orders?page=2&per_page=20"
expect fpart 200 'len(d["data"]) == 10 and d["meta"]["per_page"] == 20 and d["meta"]["to"] - d["meta"]["from"] + 1 == 20 and d["meta"]["last_page"] > 2'
call fpart2 -H "Authorization: Bearer sim-ecomanager-token" "$A/ecomanager/store-1/api/shop/v2/orders?page=2&per_page=20"
expect fpart2 200 'len(d["data"]) == 20'

# expired_token: 401 (the token stays expired), then a refresh works.
put_fault enphase '{"mode":"expired_token","count":1}' >/dev/null
call en_tok2 -X POST -u sim-enphase-client:sim-enphase-secret "$A/enphase/oauth/token?grant_type=refresh_token&refresh_token=$ERT"
expect en_tok2 200 'd["access_token"]'
EAT=$(field en_tok2 'd["access_token"]')
ERT=$(field en_tok2 'd["refresh_token"]')
call fexp -H "Authorization: Bearer $EAT" "$A/enphase/api/v4/systems?key=sim-enphase-key"
expect fexp 401 'd["error"] == "invalid_token" and "expired" in d["error_description"]'
call fexp2 -H "Authorization: Bearer $EAT" "$A/enphase/api/v4/systems?key=sim-enphase-key"
expect fexp2 401 '"expired" in d["error_description"]'
call fexp3 -X POST -u sim-enphase-client:sim-enphase-secret "$A/enphase/oauth/token?grant_type=refresh_token&refresh_token=$ERT"
expect fexp3 200 'd["access_token"]'
EAT=$(field fexp3 'd["access_token"]')
call fexp4 -H "Authorization: Bearer $EAT" "$A/enphase/api/v4/systems?key=sim-enphase-key"
expect fexp4 200 'd["total"] == 3'

# revoked_token: 401, and the refresh token is refused from then on.
put_fault tesla '{"mode":"revoked_token","count":1}' >/dev/null
call frev -H "Authorization: Bearer $TAT" "$A/tesla/api/1/products"
expect frev 401 '"revoked" in d["error"]'
call frev2 -X POST -d grant_type=refresh_token -d client_id=sim-tesla-client -d refresh_token=$TRT "$A/tesla/oauth2/v3/token"
expect frev2 401 'd["error"] == "login_required" and "revoked" in d["error_description"]'
call frev3 -X POST -d grant_type=refresh_token -d client_id=sim-tesla-client -d refresh_token=sim-tesla-refresh "$A/tesla/oauth2/v3/token"
expect frev3 401 'd["error"] == "login_required"'

# A login vendor: revoked refuses the login while armed, then it works.
put_fault solarman '{"mode":"revoked_token","count":2}' >/dev/null
call srev -X POST -H "Authorization: bearer $SMA" -d '{"page":1,"size":5}' "$A/solarman/station/v1.0/list?language=en"
expect srev 401 'd["code"] == "2101020"'
call srev2 -X POST -d "$SMT" "$A/solarman/account/v1.0/token?appId=sim-solarman-app&language=en"
expect srev2 401 'd["code"] == "2101020"'
call srev3 -X POST -d "$SMT" "$A/solarman/account/v1.0/token?appId=sim-solarman-app&language=en"
expect srev3 200 'd["success"] is True'

# The fault table, and clearing it.
put_fault sungrow '{"mode":"500","count":0}' >/dev/null
call faults "$A/_sim/faults"
expect faults 200 'd["faults"]["sungrow"]["mode"] == "500" and d["faults"]["enphase"] is None'
call sg500 -X POST -H 'x-access-key: sim-sungrow-access' -d "$SGL" "$A/sungrow/openapi/login"
expect sg500 500 'd["result_code"] == "E500"'
call faults_clear -X DELETE "$A/_sim/faults"
expect faults_clear 200 'all(v is None for v in d["faults"].values())'
call sg_ok -X POST -H 'x-access-key: sim-sungrow-access' -d "$SGL" "$A/sungrow/openapi/login"
expect sg_ok 200 'd["result_code"] == "1"'

# --- Stats: what the clients did ----------------------------------------------
call stats "$A/_sim/stats"
expect stats 200 'd["vendors"]["enphase"]["tokens_refreshed"] == 6 and d["vendors"]["enphase"]["routes"]["POST /oauth/token"] == 5 and d["vendors"]["solaredge"]["routes"]["(fault 429)"] == 1 and d["vendors"]["solarman"]["tokens_issued"] == 4 and d["vendors"]["tesla"]["faults_fired"] == 2 and d["vendors"]["enphase"]["status"]["401"] >= 5'

# --- SIGTERM: exit 0, also with a slow response in flight ---------------------
put_fault maystro '{"mode":"slow","count":1,"delay_ms":60000}' >/dev/null
curl -s -m 30 -o /dev/null -H "Authorization: Token sim-maystro-key" "$A/maystro/api/stores/orders/" &
sleep 0.5
t0=$(date +%s)
own_kill TERM $pid_a
wait $pid_a
rc=$?
t1=$(date +%s)
[ $rc -eq 0 ] && [ $((t1 - t0)) -lt 10 ] && ok "SIGTERM: exit 0 in $((t1 - t0)) s with a slow response in flight" ||
	bad "SIGTERM: rc $rc after $((t1 - t0)) s"
wait

if [ $fails -ne 0 ]; then
	echo "--- simulator log (tail)"
	tail -20 "$T"/sim-$base.log
	echo "$fails failure(s)"
	exit 1
fi
echo "all passed"
