#!/usr/bin/env bash
# test_up_demo.sh - e2e.up.demo: what a newcomer sees. scripts/up
# --detach starts the whole fleet with the vendor simulator and applies
# the demo organisation; within a minute every sync job has succeeded and
# data is in the tables (measurements, carbon forecasts, plants, orders);
# the REST summary and the CLI show it; applying the demo again changes
# nothing; scripts/down stops everything.
#
# It runs the built binaries (CF_UP_BIN) against the suite's PostgreSQL
# and Redis, on ports of its own (7950-7999) and schemas of its own, so it
# does not meet a fleet a developer runs on the default ports.
#
# Usage: test_up_demo.sh <bin dir>. Needs DATABASE_URL and REDIS_URL.
set -u
bindir=$(cd "${1:?usage: test_up_demo.sh build/bin}" && pwd)
: "${DATABASE_URL:?DATABASE_URL is not set: run through scripts/test}"
: "${REDIS_URL:?REDIS_URL is not set: run through scripts/test}"
root=$(cd "$(dirname "$0")/../.." && pwd)

fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
sql() { psql -qtAX "$DATABASE_URL" -c "$1" 2>&1; }

b=7950
export CF_VAR=$(mktemp -d) CF_UP_BIN=$bindir
export CRONFLEET_CLOCK_REP=tcp://127.0.0.1:$b CRONFLEET_CLOCK_PUB=tcp://127.0.0.1:$((b + 1))
export CRONFLEET_INGEST_REP=tcp://127.0.0.1:$((b + 2)) CRONFLEET_INGEST_PUB=tcp://127.0.0.1:$((b + 3))
export CRONFLEET_MAINTENANCE_REP=tcp://127.0.0.1:$((b + 4)) CRONFLEET_MAINTENANCE_PUB=tcp://127.0.0.1:$((b + 5))
export CRONFLEET_ANALYTICS_REP=tcp://127.0.0.1:$((b + 6)) CRONFLEET_ANALYTICS_PUB=tcp://127.0.0.1:$((b + 7))
export CRONFLEET_GATEWAY_ADDR=127.0.0.1:$((b + 8)) CRONFLEET_SIM_ADDR=127.0.0.1:$((b + 9))
CS=up_clock_$$ IS=up_ingest_$$ MS=up_maint_$$ GS=up_gw_$$
export CRONFLEET_CLOCK_SCHEMA=$CS CRONFLEET_INGEST_SCHEMA=$IS
export CRONFLEET_MAINTENANCE_SCHEMA=$MS CRONFLEET_GATEWAY_SCHEMA=$GS
unset CRONFLEET_ADMIN_TOKEN CRONFLEET_SECRET_KEY CRONFLEET_DEMO
G=http://$CRONFLEET_GATEWAY_ADDR

cleanup() {
	"$root/scripts/down" >/dev/null 2>&1
	psql -q "$DATABASE_URL" -c "DROP SCHEMA IF EXISTS $CS CASCADE; DROP SCHEMA IF EXISTS $IS CASCADE; DROP SCHEMA IF EXISTS $MS CASCADE; DROP SCHEMA IF EXISTS $GS CASCADE" >/dev/null 2>&1
	redis-cli -u "$REDIS_URL" DEL "cronfleet:clock:leader:$CS" >/dev/null 2>&1
	rm -rf "$CF_VAR"
}
trap cleanup EXIT

out=$("$root/scripts/up" --detach 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "scripts/up --detach" || bad "scripts/up --detach: rc $rc: $out"
echo "$out" | grep -q '^cronfleet is up: vendor-sim clock ingest' && ok "the fleet is up with the simulator and ingest" ||
	bad "up says: $(echo "$out" | head -3)"
echo "$out" | grep -q 'demo: *demo organisations applied' && ok "the demo organisation was applied" ||
	bad "no demo line: $out"
TOKEN=$(cat "$CF_VAR/admin-token" 2>/dev/null)
[ -s "$CF_VAR/secret-key" ] && [ "$(stat -c %a "$CF_VAR/secret-key")" = 600 ] &&
	ok "a secret key generated into var/ (mode 600)" || bad "no secret key file"

# Within a minute of up: every sync job succeeded once, data in each table.
succeeded() { [ "$(sql "SELECT count(DISTINCT job) FROM $IS.job_runs WHERE status = 'succeeded' AND job IN ('energy-sync','carbon-sync','plant-sync','order-sync','shipping-sync')")" = 5 ]; }
for _ in $(seq 60); do succeeded && break; sleep 1; done
succeeded && ok "all five sync jobs succeeded within a minute" ||
	bad "sync jobs: $(sql "SELECT job, status, left(coalesce(error,''), 120) FROM $IS.job_runs ORDER BY started_at")"
for t in measurements carbon_forecasts plants orders; do
	n=$(sql "SELECT count(*) FROM $IS.$t")
	[ "${n:-0}" -gt 0 ] 2>/dev/null && ok "$t: $n rows from the simulator" || bad "$t is empty ($n)"
done
n=$(sql "SELECT count(DISTINCT source_id) FROM $IS.measurements")
[ "$n" = 4 ] && ok "measurements from all four energy vendors" || bad "measurements from $n sources"
shipped() { [ "$(sql "SELECT count(*) FROM $IS.orders WHERE shipping_status IS NOT NULL")" -gt 0 ] 2>/dev/null; }
for _ in $(seq 60); do shipped && break; sleep 1; done
shipped && ok "shipping status of the orders taken in ($(sql "SELECT count(*) FROM $IS.orders WHERE shipping_status IS NOT NULL"))" ||
	bad "no order has a shipping status"
n=$(sql "SELECT count(*) FROM $IS.orders WHERE agent_id IS NOT NULL")
[ "${n:-0}" -gt 0 ] && ok "orders assigned to agents ($n)" || bad "no order assigned"

sum=$(curl -sf -H "Authorization: Bearer $TOKEN" "$G/api/v1/ingest/summary")
[ -n "$sum" ] && ok "GET /api/v1/ingest/summary answers" || bad "summary: none"
list=$(CRONFLEET_URL=$G CRONFLEET_TOKEN=$TOKEN "$bindir/cronfleet" sources 2>&1)
echo "$list" | grep -q 'Rooftop (Enphase)' && ok "cronfleet sources lists the demo sources" || bad "cronfleet sources: $list"
sed "s#@SIM@#http://$CRONFLEET_SIM_ADDR#g" "$root/scripts/demo/ingest-demo.json" >"$CF_VAR/again.json"
again=$(CRONFLEET_URL=$G CRONFLEET_TOKEN=$TOKEN "$bindir/cronfleet" apply "$CF_VAR/again.json" 2>&1)
if echo "$again" | grep -Ewq 'created|updated'; then
	bad "applying the demo again changed something: $again"
else
	ok "applying the demo again changes nothing"
fi

"$root/scripts/down" >/dev/null 2>&1 && ok "scripts/down" || bad "scripts/down failed"
sleep 1
curl -sf "$G/healthz" >/dev/null 2>&1 && bad "the gateway still answers after scripts/down"
curl -sf "http://$CRONFLEET_SIM_ADDR/_sim" >/dev/null 2>&1 && bad "the simulator still answers after scripts/down"

if [ $fails -ne 0 ]; then
	echo "$fails failure(s)"
	for f in "$CF_VAR"/log/*.log "$CF_VAR/up.log"; do
		[ -f "$f" ] || continue
		echo "--- $f (errors and warnings)"
		grep -v '"level":"debug"' "$f" | grep -v '"level":"info"' | tail -20
	done
	exit 1
fi
echo "all passed"
