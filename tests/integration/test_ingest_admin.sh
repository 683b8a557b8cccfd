#!/usr/bin/env bash
# test_ingest_admin.sh - integration.ingest.admin: what ingest syncs from,
# managed through the real gateway (routes_ingest.c) and the real CLI
# (tools/cli/cmd_ingest.c) over the real cronfleet-ingest (manage.c,
# views.c), cronfleet-clock, the vendor simulator and PostgreSQL.
#
# Every /api/v1/ingest route with no token, a viewer and an admin token;
# create, update, upsert and delete round trips compared with SQL; the
# credentials column sealed (the plaintext nowhere: not in SQL, not in an
# answer, not in the audit, not in a log); bad JSON, an oversized body,
# an unknown id or organization, a wrong method, a conflicting name; the
# audit rows of every action; the seeds' job names as aliases; `cronfleet
# apply` twice (the second changes nothing) and the other CLI commands
# with their exit statuses; the data views (summary, measurements,
# plants, orders, carbon) against SQL, paged to the end; ingest down ->
# 503 naming it.
#
# Usage: test_ingest_admin.sh <bin dir>. Needs DATABASE_URL and REDIS_URL.
# Ports: 9500-9749 (ten per run, from the pid).
set -u
bindir=${1:?usage: test_ingest_admin.sh build/bin}
: "${DATABASE_URL:?DATABASE_URL is not set: run through scripts/test}"
: "${REDIS_URL:?REDIS_URL is not set: run through scripts/test}"
here=$(cd "$(dirname "$0")" && pwd)
SIM_NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
. "$here/ingest_lib.sh"

ingest_setup 9500 adm 25 # 9500-9749: 25 slots of ten ports
export CRONFLEET_INGEST_HTTP_ATTEMPTS=2

G=http://127.0.0.1:$((base + 6))
GW_SCHEMA=gw_adm_$$
ADM=adm-$$-$RANDOM$RANDOM
VW=view-$$-$RANDOM$RANDOM
# A secret that must never come back out, anywhere.
SECRET=plain-secret-$$-$RANDOM$RANDOM
cli=$bindir/cronfleet

adm_cleanup() {
	own_kill TERM "${gw_pid:-0}"
	psql -q "$DATABASE_URL" -c "DROP SCHEMA IF EXISTS $GW_SCHEMA CASCADE" >/dev/null 2>&1
	ingest_cleanup
}
trap adm_cleanup EXIT

start_gateway() {
	env CRONFLEET_SERVICES=ingest CRONFLEET_GATEWAY_ADDR=127.0.0.1:$((base + 6)) \
		CRONFLEET_GATEWAY_SCHEMA=$GW_SCHEMA CRONFLEET_ADMIN_TOKENS="ops:$ADM" \
		CRONFLEET_VIEWER_TOKENS="ro:$VW" CRONFLEET_CRON_WAIT=1s \
		CRONFLEET_GATEWAY_TIMEOUT=5s CRONFLEET_ADMIN_TOKEN= \
		"$bindir/cronfleet-gateway" 2>>"$T/gateway.log" &
	gw_pid=$!
	pids+=($gw_pid)
	poll 30 curl -sf -o /dev/null "$G/healthz" || bad "the gateway does not answer"
}

# call <method> <path> <token|-> [body]: prints the status; the body is in
# $T/body, the headers in $T/headers.
call() {
	local m=$1 p=$2 tok=$3 args=()
	[ "$tok" != - ] && args+=(-H "Authorization: Bearer $tok")
	[ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
	curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' -X "$m" \
		"${args[@]}" "$G$p"
	cat "$T/body" >>"$T/all-bodies"
}

who() {
	case $1 in -) echo nobody ;; "$ADM") echo admin ;; "$VW") echo viewer ;; *) echo "?" ;; esac
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

body_has() {
	if grep -q -- "$1" "$T/body"; then ok "$2"; else bad "$2: body $(head -c 300 "$T/body")"; fi
}

# py <python expression over d, the last body>
py() { python3 -c "import json,sys; d=json.load(open('$T/body')); print($1)" 2>&1; }

# same <what> <got> <want>
same() {
	if [ "$2" = "$3" ]; then ok "$1 ($2)"; else bad "$1: got '$2', expected '$3'"; fi
}

start_sim
start_clock
start_ingest
start_gateway

echo "# organizations, sources, vendors, stores, agents: create"
expect 200 POST /api/v1/ingest/organizations "$ADM" '{"name":"acme"}'
ORG=$(py 'd["data"]["id"]')
same "org row in SQL" "$(sql "SELECT name FROM $S.organizations WHERE id = $ORG")" acme
body_has '"created":true' "the org answer says created"
expect 200 POST /api/v1/ingest/organizations "$ADM" '{"name":"acme"}'
same "org upsert by name: same id" "$(py 'd["data"]["id"]')" "$ORG"
body_has '"created":false' "the second put says updated"
same "one org row" "$(sql "SELECT count(*) FROM $S.organizations")" 1

src_body='{"org":"acme","name":"roof","vendor":"enphase","base_url":"'$SIM'/enphase","site_id":"1001","grid_region":"CAISO_NORTH","credentials":{"api_key":"'$SECRET'","client_secret":"'$SECRET'-2"}}'
expect 200 POST /api/v1/ingest/sources "$ADM" "$src_body"
SRC=$(py 'd["data"]["id"]')
same "source row in SQL" "$(sql "SELECT org_id || ' ' || name || ' ' || vendor || ' ' || site_id || ' ' || grid_region FROM $S.sources WHERE id = $SRC")" "$ORG roof enphase 1001 CAISO_NORTH"
sealed=$(sql "SELECT credentials FROM $S.sources WHERE id = $SRC")
[ -n "$sealed" ] && ok "credentials stored" || bad "credentials column empty"
case $sealed in *"$SECRET"*) bad "the credentials column holds the plaintext" ;; *) ok "the credentials column is sealed" ;; esac
grep -q "$SECRET" "$T/body" && bad "the put answer echoes the secret" || ok "the put answer does not echo the secret"
same "credentials shown as their keys" "$(py 'sorted(d["data"]["credentials"]["keys"])')" "['api_key', 'client_secret']"
same "credentials set" "$(py 'd["data"]["credentials"]["set"]')" True

expect 200 POST /api/v1/ingest/vendors "$ADM" '{"org":'$ORG',"name":"sm","kind":"solarman","base_url":"'$SIM'/solarman","credentials":{"app_secret":"'$SECRET'"}}'
VEN=$(py 'd["data"]["id"]')
same "vendor row (org by id)" "$(sql "SELECT org_id || ' ' || kind FROM $S.vendors WHERE id = $VEN")" "$ORG solarman"
expect 200 POST /api/v1/ingest/stores "$ADM" '{"org":"acme","name":"shop","base_url":"'$SIM'/ecomanager","credentials":{"token":"'$SECRET'"}}'
STO=$(py 'd["data"]["id"]')
same "store row" "$(sql "SELECT name || ' ' || active FROM $S.stores WHERE id = $STO")" "shop true"
expect 200 POST /api/v1/ingest/agents "$ADM" '{"org":"acme","name":"amina","email":"amina@example.org"}'
AGT=$(py 'd["data"]["id"]')
same "agent row" "$(sql "SELECT email || ' ' || available FROM $S.agents WHERE id = $AGT")" "amina@example.org true"
for t in vendors stores; do
	case $(sql "SELECT credentials FROM $S.$t") in *"$SECRET"*) bad "$t.credentials holds the plaintext" ;; *) ok "$t.credentials sealed" ;; esac
done

echo "# who may do what"
for p in /api/v1/ingest/organizations /api/v1/ingest/sources /api/v1/ingest/vendors \
	/api/v1/ingest/stores /api/v1/ingest/agents "/api/v1/ingest/organizations/$ORG" \
	"/api/v1/ingest/sources/$SRC" "/api/v1/ingest/vendors/$VEN" "/api/v1/ingest/stores/$STO" \
	"/api/v1/ingest/agents/$AGT" /api/v1/ingest/summary /api/v1/ingest/measurements \
	/api/v1/ingest/plants /api/v1/ingest/orders /api/v1/ingest/carbon; do
	expect 401 GET "$p" -
	expect 200 GET "$p" "$VW"
	expect 200 GET "$p" "$ADM"
	grep -q "$SECRET" "$T/body" && bad "GET $p shows the secret"
done
for spec in "POST /api/v1/ingest/organizations" "POST /api/v1/ingest/sources" \
	"POST /api/v1/ingest/vendors" "POST /api/v1/ingest/stores" "POST /api/v1/ingest/agents" \
	"PUT /api/v1/ingest/organizations/$ORG" "PUT /api/v1/ingest/sources/$SRC" \
	"PUT /api/v1/ingest/vendors/$VEN" "PUT /api/v1/ingest/stores/$STO" \
	"PUT /api/v1/ingest/agents/$AGT" "DELETE /api/v1/ingest/organizations/$ORG" \
	"DELETE /api/v1/ingest/sources/$SRC" "DELETE /api/v1/ingest/vendors/$VEN" \
	"DELETE /api/v1/ingest/stores/$STO" "DELETE /api/v1/ingest/agents/$AGT"; do
	set -- $spec
	expect 401 "$1" "$2" - '{"name":"x"}'
	expect 403 "$1" "$2" "$VW" '{"name":"x"}'
done
same "nothing changed by the refused calls" \
	"$(sql "SELECT (SELECT count(*) FROM $S.organizations)::text || (SELECT count(*) FROM $S.sources) || (SELECT count(*) FROM $S.agents) || (SELECT name FROM $S.organizations)")" "111acme"

echo "# read back"
expect 200 GET "/api/v1/ingest/sources/$SRC" "$VW"
same "GET one: its fields" "$(py 'd["data"]["name"], d["data"]["org"], d["data"]["vendor"], d["data"]["site_id"]')" "roof acme enphase 1001"
expect 200 GET "/api/v1/ingest/sources?org=acme" "$VW"
same "list by org name" "$(py 'len(d["data"])')" 1
expect 200 GET "/api/v1/ingest/agents?org=$ORG" "$VW"
same "list by org id" "$(py '[a["name"] for a in d["data"]]')" "['amina']"
expect 404 GET "/api/v1/ingest/sources?org=nobody" "$VW"
body_has "unknown org" "an unknown org filter names it"
expect 400 GET "/api/v1/ingest/organizations?org=acme" "$VW"

echo "# partial update, upsert, conflict"
expect 200 PUT "/api/v1/ingest/sources/$SRC" "$ADM" '{"grid_region":"ERCOT","active":false}'
same "PUT changes the fields given" "$(sql "SELECT grid_region || ' ' || active || ' ' || name || ' ' || site_id FROM $S.sources WHERE id = $SRC")" "ERCOT false roof 1001"
same "PUT without credentials keeps them sealed as they were" "$(sql "SELECT credentials FROM $S.sources WHERE id = $SRC")" "$sealed"
expect 200 PUT "/api/v1/ingest/sources/$SRC" "$ADM" '{"credentials":{"api_key":"'$SECRET'-new"}}'
sealed2=$(sql "SELECT credentials FROM $S.sources WHERE id = $SRC")
[ "$sealed2" != "$sealed" ] && ok "PUT with credentials replaces them" || bad "credentials unchanged by PUT"
same "the new credentials' keys" "$(py 'd["data"]["credentials"]["keys"]')" "['api_key']"
expect 200 POST /api/v1/ingest/sources "$ADM" '{"org":"acme","name":"roof","site_id":"1002"}'
same "POST by (org, name) updates the same row" "$(py 'd["data"]["id"], d["data"]["created"]')" "$SRC False"
same "site_id after the upsert" "$(sql "SELECT site_id FROM $S.sources WHERE id = $SRC")" 1002
expect 200 POST /api/v1/ingest/sources "$ADM" '{"org":"acme","name":"wall","vendor":"solaredge","base_url":"'$SIM'/solaredge","site_id":"2002"}'
SRC2=$(py 'd["data"]["id"]')
expect 409 PUT "/api/v1/ingest/sources/$SRC2" "$ADM" '{"name":"roof"}'
body_has "conflict" "renaming onto another's name is a conflict"
same "the conflicting rename changed nothing" "$(sql "SELECT name FROM $S.sources WHERE id = $SRC2")" wall

echo "# bad input"
expect 400 POST /api/v1/ingest/sources "$ADM" '{"org":"acme","name":'
body_has "malformed JSON in request body at byte" "bad JSON says where"
expect 400 POST /api/v1/ingest/sources "$ADM" '["not","an","object"]'
expect 400 POST /api/v1/ingest/sources "$ADM"
body_has "request body required" "a missing body is named"
expect 400 POST /api/v1/ingest/sources "$ADM" '{"org":"acme","name":"x","vendor":"acme-solar","base_url":"http://x","site_id":"1"}'
body_has "invalid vendor" "a bad field is named"
expect 400 POST /api/v1/ingest/sources "$ADM" '{"org":"acme","name":"x","password":"'$SECRET'"}'
body_has "invalid password" "an unknown field is named"
grep -q "$SECRET" "$T/body" && bad "a refusal echoes a value" || ok "the refusal does not echo the value"
expect 400 POST /api/v1/ingest/sources "$ADM" '{"org":"acme","name":"x","base_url":"ftp://x","vendor":"tesla","site_id":"1"}'
body_has "invalid base_url" "a bad URL is named"
expect 404 POST /api/v1/ingest/sources "$ADM" '{"org":"nobody","name":"x","vendor":"tesla","base_url":"http://x","site_id":"1"}'
body_has "unknown org" "an unknown org is 404"
big=$(python3 -c 'print("A" * 4500)')
before=$(sql "SELECT count(*) FROM $S.sources")
expect 413 POST /api/v1/ingest/sources "$ADM" '{"org":"acme","name":"big","vendor":"tesla","base_url":"http://x","site_id":"1","credentials":{"k":"'$big'"}}'
body_has "4096 bytes" "an oversized item names the limit"
grep -q AAAAAAAAAA "$T/body" && bad "the 413 echoes the body" || ok "the 413 does not echo the body"
huge=$(python3 -c 'print("B" * 70000)')
expect 413 POST /api/v1/ingest/sources "$ADM" '{"org":"acme","name":"huge","credentials":{"k":"'$huge'"}}'
same "oversized bodies wrote nothing" "$(sql "SELECT count(*) FROM $S.sources")" "$before"
expect 404 GET /api/v1/ingest/sources/999999 "$VW"
body_has "unknown source 999999" "an unknown id is named"
expect 404 PUT /api/v1/ingest/agents/999999 "$ADM" '{"email":"x@y.z"}'
expect 404 DELETE /api/v1/ingest/stores/999999 "$ADM"
expect 404 GET /api/v1/ingest/sources/abc "$VW"
expect 400 PUT "/api/v1/ingest/sources/$SRC" "$ADM" '{"id":'$SRC2',"name":"z"}'
expect 405 PATCH "/api/v1/ingest/sources/$SRC" "$ADM" '{}'
grep -qi '^Allow: GET, HEAD, PUT, DELETE' "$T/headers" && ok "405 lists GET, HEAD, PUT, DELETE" || bad "405 without the right Allow"
expect 405 DELETE /api/v1/ingest/sources "$ADM"
expect 404 GET /api/v1/ingest/nothing "$VW"

echo "# delete"
expect 200 DELETE "/api/v1/ingest/agents/$AGT" "$ADM"
same "agent gone from SQL" "$(sql "SELECT count(*) FROM $S.agents WHERE id = $AGT")" 0
expect 404 DELETE "/api/v1/ingest/agents/$AGT" "$ADM"
expect 404 GET "/api/v1/ingest/agents/$AGT" "$VW"

echo "# audit"
sleep 1.5 # the audit writer is asynchronous
same "source.put rows on the source" "$(sql "SELECT count(*) >= 4 FROM $GW_SCHEMA.audit WHERE action = 'source.put' AND job = 'source:$SRC' AND outcome = 'ok'")" t
same "a refused viewer put is audited" "$(sql "SELECT count(*) > 0 FROM $GW_SCHEMA.audit WHERE action = 'agent.put' AND status = 403 AND actor = 'ro'")" t
same "agent.delete audited with its detail" "$(sql "SELECT detail FROM $GW_SCHEMA.audit WHERE action = 'agent.delete' AND status = 200")" "agent $AGT deleted"
same "the conflict audited as refused" "$(sql "SELECT outcome FROM $GW_SCHEMA.audit WHERE status = 409 LIMIT 1")" refused
same "the create's detail names the item" "$(sql "SELECT detail FROM $GW_SCHEMA.audit WHERE action = 'org.put' AND status = 200 ORDER BY id LIMIT 1")" "org $ORG 'acme' created"
same "no audit row holds the secret" "$(sql "SELECT count(*) FROM $GW_SCHEMA.audit WHERE detail LIKE '%$SECRET%' OR path LIKE '%$SECRET%'")" 0
expect 200 GET "/api/v1/audit?action=source.put&limit=5" "$VW"
same "GET /api/v1/audit filters by the new actions" "$(py 'set(e["action"] for e in d["data"])')" "{'source.put'}"

echo "# the seeds' job names"
expect 200 POST /api/v1/scheduler/trigger/sync-energy "$ADM"
same "trigger/sync-energy fires energy-sync" "$(py 'd["data"]["job"]')" energy-sync
expect 200 POST /api/v1/jobs/sync-carbon/trigger "$ADM"
same "jobs/sync-carbon/trigger fires carbon-sync" "$(py 'd["data"]["job"]')" carbon-sync
expect 200 POST /api/admin/jobs "$ADM" '{"jobName":"ecomanager"}'
same "admin/jobs ecomanager fires order-sync" "$(py 'd["message"], d["data"]["job"]')" "Job 'order-sync' triggered order-sync"
got=$(call POST /api/cron/shipping "$ADM")
case $got in 200 | 202 | 500) ok "POST /api/cron/shipping answers ($got)" ;; *) bad "POST /api/cron/shipping -> $got: $(head -c 300 "$T/body")" ;; esac
same "cron/shipping names shipping-sync" "$(py 'd["job"]')" shipping-sync
expect 200 GET /api/v1/jobs/sync-plants "$VW"
same "jobs/sync-plants is plant-sync" "$(py 'd["data"]["job"]')" plant-sync
sleep 1.5
same "the audit says our names" "$(sql "SELECT string_agg(DISTINCT job, ',' ORDER BY job) FROM $GW_SCHEMA.audit WHERE action IN ('trigger', 'cron')")" "carbon-sync,energy-sync,order-sync,shipping-sync"
expect 404 POST /api/v1/scheduler/trigger/sync-nothing "$ADM"

echo "# cronfleet: the kinds"
export CRONFLEET_URL=$G CRONFLEET_TOKEN=$ADM
run() {
	local name=$1
	shift
	"$cli" "$@" >"$T/$name.out" 2>"$T/$name.err"
	rc=$?
	cat "$T/$name.out" "$T/$name.err" >>"$T/all-cli"
}
run srcl sources
[ $rc -eq 0 ] && grep -q roof "$T/srcl.out" && grep -q 'api_key' "$T/srcl.out" &&
	ok "cronfleet sources: a table with the keys" || bad "cronfleet sources ($rc): $(cat "$T/srcl.out" "$T/srcl.err")"
run srcj sources list --org acme --json
same "cronfleet sources --org --json" "$(python3 -c "import json; print(sorted(s['name'] for s in json.load(open('$T/srcj.out'))['data']))")" "['roof', 'wall']"
run agadd agents add '{"org":"acme","name":"bilal","available":false}'
same "cronfleet agents add: exit 0" "$rc" 0
grep -q "^created agent" "$T/agadd.out" && ok "add says created" || bad "add: $(cat "$T/agadd.out")"
AG2=$(sql "SELECT id FROM $S.agents WHERE name = 'bilal'")
run agset agents set "$AG2" '{"available":true}'
same "cronfleet agents set: SQL" "$rc $(sql "SELECT available FROM $S.agents WHERE id = ${AG2:-0}")" "0 t"
run agshow agents show "$AG2" --json
same "cronfleet agents show --json" "$(python3 -c "import json; print(json.load(open('$T/agshow.out'))['data']['name'])")" bilal
run agrm agents rm "$AG2"
same "cronfleet agents rm" "$rc $(sql "SELECT count(*) FROM $S.agents WHERE name = 'bilal'")" "0 0"
run agrm2 agents rm "$AG2"
same "rm again: exit 1" "$rc" 1
grep -q "unknown agent" "$T/agrm2.err" && ok "rm again says why" || bad "rm again: $(cat "$T/agrm2.err")"
run agbad agents rm abc
same "rm abc: exit 2" "$rc" 2
run agjson agents add '{"org":'
same "add with bad JSON: exit 2" "$rc" 2
CRONFLEET_TOKEN=$VW run agview agents add '{"org":"acme","name":"x"}'
same "a viewer's add: exit 1" "$rc" 1
grep -q "admin role required" "$T/agview.err" && ok "the viewer is told" || bad "viewer add: $(cat "$T/agview.err")"
CRONFLEET_URL=http://127.0.0.1:1 run agdown agents
same "no gateway: exit 3" "$rc" 3

echo "# cronfleet apply"
cat >"$T/fleet.json" <<EOF
{
  "organizations": [{"name": "apply-org"}],
  "sources": [
    {"org": "apply-org", "name": "s1", "vendor": "tesla", "base_url": "$SIM/tesla", "site_id": "T1", "grid_region": "CAISO_NORTH", "credentials": {"refresh_token": "$SECRET"}},
    {"org": "apply-org", "name": "s2", "vendor": "utilityapi", "base_url": "$SIM/utilityapi", "site_id": "U1", "active": false}
  ],
  "vendors": [{"org": "apply-org", "name": "sg", "kind": "sungrow", "base_url": "$SIM/sungrow", "credentials": {"appkey": "$SECRET", "password": "$SECRET"}}],
  "stores": [{"org": "apply-org", "name": "eco", "base_url": "$SIM/ecomanager"}],
  "agents": [{"org": "apply-org", "name": "a1", "email": null}, {"org": "apply-org", "name": "a2", "available": false}]
}
EOF
run ap1 apply "$T/fleet.json"
same "apply: exit 0" "$rc" 0
same "apply: one line per item, all created" "$(grep -c '^created' "$T/ap1.out") $(wc -l <"$T/ap1.out")" "7 7"
same "apply: in SQL" "$(sql "SELECT (SELECT count(*) FROM $S.sources s JOIN $S.organizations o ON o.id = s.org_id WHERE o.name = 'apply-org') || ' ' || (SELECT count(*) FROM $S.agents a JOIN $S.organizations o ON o.id = a.org_id WHERE o.name = 'apply-org') || ' ' || (SELECT active FROM $S.sources WHERE name = 's2')")" "2 2 false"
stamp=$(sql "SELECT max(updated_at) FROM (SELECT updated_at FROM $S.sources UNION ALL SELECT updated_at FROM $S.vendors UNION ALL SELECT updated_at FROM $S.stores UNION ALL SELECT updated_at FROM $S.agents UNION ALL SELECT updated_at FROM $S.organizations) x")
run ap2 apply "$T/fleet.json"
same "apply again: exit 0" "$rc" 0
same "apply again: all unchanged" "$(grep -c '^unchanged' "$T/ap2.out") $(wc -l <"$T/ap2.out")" "7 7"
same "apply again wrote nothing" "$(sql "SELECT max(updated_at) FROM (SELECT updated_at FROM $S.sources UNION ALL SELECT updated_at FROM $S.vendors UNION ALL SELECT updated_at FROM $S.stores UNION ALL SELECT updated_at FROM $S.agents UNION ALL SELECT updated_at FROM $S.organizations) x")" "$stamp"
sed -i 's/"site_id": "U1"/"site_id": "U2"/' "$T/fleet.json"
run ap3 apply "$T/fleet.json" --json
same "apply after one change: one updated" "$(python3 -c "
import json; d = json.load(open('$T/ap3.out'))
print(sorted((e['name'], e['result']) for e in d['data'] if e['result'] != 'unchanged'), d['success'])")" "[('s2', 'updated')] True"
same "the change in SQL" "$(sql "SELECT site_id FROM $S.sources WHERE name = 's2'")" U2
echo '{"sources": [{"org": "apply-org", "name": "s3", "vendor": "nope", "base_url": "http://x", "site_id": "1"}], "agents": [{"org": "apply-org", "name": "a3"}]}' >"$T/bad.json"
run ap4 apply "$T/bad.json"
same "apply with a bad item: exit 1" "$rc" 1
grep -q '^failed .*s3.*invalid vendor' "$T/ap4.out" && grep -q '^created .*a3' "$T/ap4.out" &&
	ok "the bad item fails alone, the good one is applied" || bad "apply bad: $(cat "$T/ap4.out" "$T/ap4.err")"
echo '{"sourcez": []}' >"$T/bad2.json"
run ap5 apply "$T/bad2.json"
same "apply with an unknown key: exit 2" "$rc" 2
run ap6 apply "$T/none.json"
same "apply of a missing file: exit 2" "$rc" 2

echo "# data views against SQL"
sql "INSERT INTO $S.measurements (source_id, metric, ts, value)
     SELECT $SRC, m, timestamptz '2026-01-01' + g * interval '15 minutes', g
     FROM generate_series(1, 125) g, (VALUES ('production_wh'), ('consumption_wh')) v(m)" >/dev/null
sql "UPDATE $S.sources SET cursor_at = timestamptz '2026-01-02 07:00Z', last_sync_at = now(), last_error = 'sim: 500' WHERE id = $SRC" >/dev/null
sql "INSERT INTO $S.plants (vendor_id, org_id, external_id, name, capacity_kw)
     SELECT $VEN, $ORG, 'P' || g, 'plant ' || g, g FROM generate_series(1, 30) g" >/dev/null
sql "INSERT INTO $S.orders (store_id, external_id, reference, total, shipping_status)
     SELECT $STO, g, 'R-$$-' || g, g * 10, CASE WHEN g % 3 = 0 THEN 'DELIVERED' WHEN g % 3 = 1 THEN 'SHIPPED' END
     FROM generate_series(1, 20) g" >/dev/null
sql "UPDATE $S.stores SET last_order_id = 20 WHERE id = $STO" >/dev/null
sql "INSERT INTO $S.carbon_forecasts (region, point_time, provider, signal, intensity, raw_value, raw_unit)
     SELECT r, timestamptz '2026-01-01' + g * interval '5 minutes', 'watttime', 'co2_moer', g, g, 'lbs/MWh'
     FROM generate_series(1, 12) g, (VALUES ('CAISO_NORTH'), ('ERCOT')) v(r)" >/dev/null

expect 200 GET /api/v1/ingest/summary "$VW"
same "summary counts = SQL" "$(py '[d["data"]["counts"][k] for k in ("organizations","sources","measurements","plants","orders","carbon_forecasts","agents")]')" \
	"[$(sql "SELECT (SELECT count(*) FROM $S.organizations) || ', ' || (SELECT count(*) FROM $S.sources) || ', ' || (SELECT count(*) FROM $S.measurements) || ', ' || (SELECT count(*) FROM $S.plants) || ', ' || (SELECT count(*) FROM $S.orders) || ', ' || (SELECT count(*) FROM $S.carbon_forecasts) || ', ' || (SELECT count(*) FROM $S.agents)")]"
same "summary: the source's newest measurement, cursor and error" \
	"$(py '[(s["newest_measurement"], s["cursor_at"], s["last_error"], s["measurements"]) for s in d["data"]["sources"] if s["id"] == '$SRC'][0]')" \
	"('2026-01-02T07:15:00.000Z', '2026-01-02T07:00:00.000Z', 'sim: 500', 250)"
same "summary: the store's last order id and open orders" \
	"$(py '[(s["last_order_id"], s["orders"], s["open_orders"]) for s in d["data"]["stores"] if s["id"] == '$STO'][0]')" "(20, 20, 14)"
same "summary: the vendor's plants" "$(py '[v["plants"] for v in d["data"]["vendors"] if v["id"] == '$VEN'][0]')" 30
same "summary: carbon regions" "$(py '[(c["region"], c["points"]) for c in d["data"]["carbon"]]')" "[('CAISO_NORTH', 12), ('ERCOT', 12)]"

# Every page of measurements, to the end: all rows, once, newest first.
: >"$T/pages"
q="source=$SRC&limit=100"
for i in 1 2 3 4; do
	expect 200 GET "/api/v1/ingest/measurements?$q" "$VW"
	py '"\n".join("%s %s %s" % (m["ts"], m["metric"], m["value"]) for m in d["data"])' >>"$T/pages"
	nb=$(py 'd["page"]["next_before"] or ""')
	[ -z "$nb" ] && break
	q="source=$SRC&limit=100&before=$(python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1]))' "$nb")"
done
same "measurements paged: rows, pages" "$(wc -l <"$T/pages") $i" "250 3"
same "measurements paged: no repeat" "$(sort -u "$T/pages" | wc -l)" 250
same "measurements: newest first" "$(head -1 "$T/pages" | cut -d' ' -f1)" "2026-01-02T07:15:00.000Z"
expect 200 GET "/api/v1/ingest/measurements?source=$SRC&metric=production_wh&since=2026-01-01T12:00:00Z&until=1767312000000&limit=1000" "$VW"
same "measurements filtered by metric and time = SQL" "$(py 'len(d["data"])')" \
	"$(sql "SELECT count(*) FROM $S.measurements WHERE source_id = $SRC AND metric = 'production_wh' AND ts >= '2026-01-01T12:00:00Z' AND ts < to_timestamp(1767312000)")"
expect 200 GET "/api/v1/ingest/plants?vendor=$VEN&limit=7" "$VW"
same "plants: a page of 7, newest id first" "$(py 'len(d["data"]), d["data"][0]["id"] == max(p["id"] for p in d["data"]), d["page"]["limit"]')" "7 True 7"
expect 200 GET "/api/v1/ingest/plants?org=acme&limit=1000" "$VW"
same "plants by org = SQL" "$(py 'len(d["data"])')" "$(sql "SELECT count(*) FROM $S.plants WHERE org_id = $ORG")"
expect 200 GET "/api/v1/ingest/orders?store=$STO&status=open&limit=1000" "$VW"
same "orders open = SQL" "$(py 'len(d["data"])')" "$(sql "SELECT count(*) FROM $S.orders WHERE store_id = $STO AND (shipping_status IS NULL OR shipping_status NOT IN ('DELIVERED','RETURNED','CANCELLED'))")"
expect 200 GET "/api/v1/ingest/orders?status=delivered" "$VW"
same "orders delivered = SQL" "$(py 'len(d["data"])')" "$(sql "SELECT count(*) FROM $S.orders WHERE shipping_status = 'DELIVERED'")"
expect 200 GET "/api/v1/ingest/carbon?region=ERCOT&limit=5" "$VW"
same "carbon by region, newest first" "$(py '[c["region"] for c in d["data"]] == ["ERCOT"] * 5, d["data"][0]["intensity"]')" "True 12"
nb=$(py 'd["page"]["next_before"]')
expect 200 GET "/api/v1/ingest/carbon?region=ERCOT&limit=10&before=$nb" "$VW"
same "carbon's next page" "$(py 'len(d["data"]), d["data"][0]["intensity"], d["page"]["next_before"]')" "7 7 None"
expect 400 GET "/api/v1/ingest/measurements?limit=0" "$VW"
body_has "invalid limit" "limit 0 is named"
expect 400 GET "/api/v1/ingest/measurements?limit=1001" "$VW"
expect 400 GET "/api/v1/ingest/measurements?since=yesterday" "$VW"
body_has "invalid since" "a bad time is named"
expect 400 GET "/api/v1/ingest/measurements?before=x:y" "$VW"
expect 400 GET "/api/v1/ingest/orders?status=LOST" "$VW"
expect 400 GET "/api/v1/ingest/plants?vendor=abc" "$VW"

run sum ingest summary
[ $rc -eq 0 ] && grep -q "measurements 250" "$T/sum.out" && grep -q roof "$T/sum.out" &&
	ok "cronfleet ingest summary" || bad "ingest summary ($rc): $(cat "$T/sum.out" "$T/sum.err")"
run meas ingest measurements --source "$SRC" --metric production_wh --limit 3
same "cronfleet ingest measurements: 3 rows and a header" "$rc $(wc -l <"$T/meas.out")" "0 4"
grep -q "more: cronfleet ingest measurements" "$T/meas.err" && ok "the next page is hinted" || bad "no page hint: $(cat "$T/meas.err")"
run ord ingest orders --status open --json
same "cronfleet ingest orders --json" "$rc $(python3 -c "import json; print(len(json.load(open('$T/ord.out'))['data']))")" "0 14"
run badv ingest plants --nope 1
same "an unknown view option: exit 2" "$rc" 2

echo "# no secret anywhere"
for f in "$T/all-bodies" "$T/all-cli" "$T/gateway.log" "$T/ingest.log"; do
	grep -q "$SECRET" "$f" 2>/dev/null && bad "$(basename "$f") holds the secret" || ok "no secret in $(basename "$f")"
done
same "no secret in the gateway's schema" "$(sql "SELECT count(*) FROM $GW_SCHEMA.audit WHERE audit::text LIKE '%$SECRET%'")" 0
same "no secret in the ingest schema" "$(sql "SELECT count(*) FROM (SELECT credentials FROM $S.sources UNION ALL SELECT credentials FROM $S.vendors UNION ALL SELECT credentials FROM $S.stores) c WHERE credentials LIKE '%$SECRET%'")" 0

echo "# ingest down"
stop_ingest
expect 503 GET /api/v1/ingest/sources "$VW"
body_has "ingest" "the 503 names ingest"
expect 503 POST /api/v1/ingest/organizations "$ADM" '{"name":"later"}'
expect 503 GET /api/v1/ingest/summary "$VW"
expect 200 GET /healthz -

own_kill TERM "$gw_pid"
wait "$gw_pid"
rc=$?
[ $rc -eq 0 ] && ok "the gateway exits 0 at SIGTERM" || bad "the gateway exited $rc at SIGTERM"

# Under the sanitizers (an ASan build's bin dir), a report in any log or
# CLI output is a failure even when the exit status did not say so.
if grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T"/*.log "$T"/*.err >/dev/null 2>&1; then
	bad "a sanitizer report: $(grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T"/*.log "$T"/*.err | xargs -n1 basename | tr '\n' ' ')"
else
	ok "no sanitizer report in any log"
fi
svc_finish
