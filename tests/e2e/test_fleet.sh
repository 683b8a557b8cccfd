#!/usr/bin/env bash
# e2e.fleet: clock + maintenance + gateway as real processes on the real
# PostgreSQL (DATABASE_URL from scripts/test) and a Redis of the test's own
# (so that stopping it disturbs no other test), driven with curl and
# nngcat as a person would:
#   a seconds schedule fires and its runs appear with the ledger's fire
#   ids; a trigger through curl makes a run and an event; nngcat 'status'
#   and 'trigger health-check' answer JSON; garbage and truncated msgpack
#   to every REP socket get error replies and every process stays up;
#   stopping Redis makes health-check report degraded.
set -u
bindir=${1:?usage: test_fleet.sh build/bin}
: "${DATABASE_URL:?DATABASE_URL is not set: run through scripts/test}"
tmp=$(mktemp -d)
fails=0
base=$((26000 + ($$ % 500) * 10))
export CRONFLEET_CLOCK_REP=tcp://127.0.0.1:$base
export CRONFLEET_CLOCK_PUB=tcp://127.0.0.1:$((base + 1))
export CRONFLEET_MAINTENANCE_REP=tcp://127.0.0.1:$((base + 2))
export CRONFLEET_MAINTENANCE_PUB=tcp://127.0.0.1:$((base + 3))
export CRONFLEET_GATEWAY_ADDR=127.0.0.1:$((base + 4))
export CRONFLEET_CLOCK_SCHEMA=clock_e2e_$$
export CRONFLEET_MAINTENANCE_SCHEMA=maintenance_e2e_$$
export CRONFLEET_ADMIN_TOKEN=e2e-token-$$
export CRONFLEET_SERVICES=maintenance
export CRONFLEET_HEALTH_SERVICES="clock=$CRONFLEET_CLOCK_REP"
export CRONFLEET_JOB_HEALTH_CHECK_SCHEDULE='*/2 * * * * *'
redis_port=$((base + 5))
export REDIS_URL=redis://127.0.0.1:$redis_port/0
gw=http://$CRONFLEET_GATEWAY_ADDR
auth="Authorization: Bearer $CRONFLEET_ADMIN_TOKEN"
declare -A pid=()

cleanup() {
	for p in "${pid[@]}"; do kill -TERM "$p" 2>/dev/null; done
	redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1
	psql -q "$DATABASE_URL" -c "DROP SCHEMA IF EXISTS $CRONFLEET_CLOCK_SCHEMA CASCADE; DROP SCHEMA IF EXISTS $CRONFLEET_MAINTENANCE_SCHEMA CASCADE" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
sql() { psql -qtA "$DATABASE_URL" -c "$1"; }
nreq() { nngcat --req --dial "$1" --ascii --data "$2" 2>&1; }

redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
	--daemonize yes --logfile "$tmp/redis.log" --dir "$tmp" >/dev/null
for s in clock maintenance gateway; do
	"$bindir/cronfleet-$s" 2>"$tmp/$s.log" &
	pid[$s]=$!
done
for _ in $(seq 100); do
	curl -fsS "$gw/healthz" >/dev/null 2>&1 &&
		nreq "$CRONFLEET_MAINTENANCE_REP" ping | grep -q pong && break
	sleep 0.1
done

# nngcat, as in the README.
out=$(nreq "$CRONFLEET_MAINTENANCE_REP" status)
grep -q '"success":true' <<<"$out" && ok "nngcat status" || bad "nngcat status: $out"

# The seconds schedule (from CRONFLEET_JOB_HEALTH_CHECK_SCHEDULE) fires;
# each run carries the fire id of a ledger entry.
# Polled (up to 20 s): under the sanitizers a run may take longer than
# the two seconds between fires.
runs=0
for _ in $(seq 200); do
	runs=$(sql "SELECT count(*) FROM $CRONFLEET_MAINTENANCE_SCHEMA.job_runs r JOIN $CRONFLEET_CLOCK_SCHEMA.fires f USING (fire_id) WHERE r.job = 'health-check' AND r.trigger = 'schedule'")
	[ "${runs:-0}" -ge 2 ] && break
	sleep 0.1
done
[ "${runs:-0}" -ge 2 ] && ok "scheduled runs with ledger fire ids ($runs)" || bad "scheduled runs: $runs"
dups=$(sql "SELECT count(*) FROM (SELECT fire_id FROM $CRONFLEET_MAINTENANCE_SCHEMA.job_runs GROUP BY fire_id, attempt HAVING count(*) > 1) d")
[ "$dups" = 0 ] && ok "one run per fire" || bad "duplicate runs: $dups"

# A trigger through curl: a run, and a succeeded event on the PUB socket.
timeout 6 nngcat --sub --dial "$CRONFLEET_MAINTENANCE_PUB" --subscribe event. --quoted >"$tmp/events" 2>/dev/null &
evpid=$!
sleep 0.5
out=$(curl -sS -X POST -H "$auth" "$gw/api/v1/scheduler/trigger/health-check")
fid=$(sed -n 's/.*"fire_id":"\([^"]*\)".*/\1/p' <<<"$out")
[ -n "$fid" ] && ok "curl trigger ($fid)" || bad "curl trigger: $out"
for _ in $(seq 50); do
	[ "$(sql "SELECT status FROM $CRONFLEET_MAINTENANCE_SCHEMA.job_runs WHERE fire_id = '$fid'")" = succeeded ] && break
	sleep 0.1
done
[ "$(sql "SELECT trigger || ':' || status FROM $CRONFLEET_MAINTENANCE_SCHEMA.job_runs WHERE fire_id = '$fid'")" = manual:succeeded ] &&
	ok "manual run recorded" || bad "manual run not recorded for $fid"
wait $evpid 2>/dev/null
grep -q '"event.maintenance.health-check.succeeded ' "$tmp/events" && ok "succeeded event" || bad "no succeeded event"

out=$(nreq "$CRONFLEET_MAINTENANCE_REP" "trigger health-check")
grep -q '"fire_id"' <<<"$out" && ok "nngcat trigger" || bad "nngcat trigger: $out"
out=$(curl -sS -H "$auth" "$gw/api/v1/scheduler/history?job=health-check&limit=3")
grep -q '"status":"succeeded"' <<<"$out" && ok "history over REST" || bad "history: $out"
out=$(curl -sS -H "$auth" "$gw/api/v1/scheduler/status")
grep -q '"success":true' <<<"$out" && grep -q 'health-check' <<<"$out" && ok "status over REST" || bad "status: $out"

# Garbage and truncated msgpack to every REP socket.
head -c 300 /dev/urandom >"$tmp/garbage"
printf '\x85\xa3cmd\xa6sta' >"$tmp/truncated"
for r in "$CRONFLEET_CLOCK_REP" "$CRONFLEET_MAINTENANCE_REP"; do
	for f in garbage truncated; do
		out=$(nngcat --req --dial "$r" --file "$tmp/$f" --raw 2>&1 | head -c 200)
		grep -qa 'error' <<<"$out" && ok "$f to $r answered" || bad "$f to $r: $out"
	done
done
for s in clock maintenance gateway; do
	kill -0 "${pid[$s]}" 2>/dev/null && ok "$s alive" || bad "$s died"
done

# Redis stops: the next health-check says degraded, naming redis.
# Read the newest finished run begun after the stop (the newest of all may
# still be running: its result is NULL then), waiting up to 15 s for one.
redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1
stopped=$(sql "SELECT now()")
res=
for _ in $(seq 1 150); do
	res=$(sql "SELECT result::text FROM $CRONFLEET_MAINTENANCE_SCHEMA.job_runs WHERE job = 'health-check' AND started_at > '$stopped' AND status <> 'running' ORDER BY started_at DESC LIMIT 1")
	[ -n "$res" ] && break
	sleep 0.1
done
grep -q '"status": *"degraded"' <<<"$res" && grep -qi redis <<<"$res" &&
	ok "degraded without Redis" || bad "without Redis: $res"

for s in gateway maintenance clock; do
	kill -TERM "${pid[$s]}"
	wait "${pid[$s]}"
	rc=$?
	unset "pid[$s]"
	[ $rc -eq 0 ] && ok "$s exits 0 on SIGTERM" || bad "$s exit status $rc"
done

if [ $fails -ne 0 ]; then
	echo "$fails failure(s)"
	for s in clock maintenance gateway; do echo "--- $s"; tail -5 "$tmp/$s.log"; done
	exit 1
fi
echo "all passed"
