#!/usr/bin/env bash
# integration.clock.lease: two real cronfleet-clock processes on the same
# addresses and schema, the shared PostgreSQL (DATABASE_URL) and a Redis of
# this test's own (it is stopped and started again).
#   one leads (only it answers), the ledger grows; kill -9 the leader: the
#   standby takes over with a higher epoch, no fire twice, no second
#   missing from the ledger, ticks carry the new epoch; Redis stopped: the
#   leader keeps leading through the PostgreSQL lock, the standby does not
#   fire, nothing crashes; Redis back: the lease returns to Redis; SIGTERM
#   on the leader: the standby leads within about a second.
# Deadlines are generous (polls); the measured times are printed.
set -u
bin=${1:?usage: test_clock_lease.sh path/to/cronfleet-clock}
: "${DATABASE_URL:?DATABASE_URL is not set: run through scripts/test}"
export CRONFLEET_CLOCK_SCHEMA="clock_lease_$$"
schema=$CRONFLEET_CLOCK_SCHEMA

# Ports from this test's band, 1100-1999 (below the ephemeral range, so no
# outgoing connection holds them when a standby binds again): Redis, then
# REP and PUB.
busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
base=$((1100 + ($$ % 300) * 3))
while busy "$base" || busy $((base + 1)) || busy $((base + 2)); do
	base=$((base + 3))
	[ $base -gt 1996 ] && base=1100
done
redis_port=$base
export CRONFLEET_CLOCK_REP="tcp://127.0.0.1:$((base + 1))"
export CRONFLEET_CLOCK_PUB="tcp://127.0.0.1:$((base + 2))"
export REDIS_URL="redis://127.0.0.1:$redis_port/0"
export CRONFLEET_CLOCK_LEASE=5s
lease_ms=5000

tmp=$(mktemp -d)
fails=0
declare -A pid=()
redis_pid=

cleanup() {
	for k in "${!pid[@]}"; do
		kill -9 "${pid[$k]}" 2>/dev/null
	done
	[ -n "$redis_pid" ] && kill -9 "$redis_pid" 2>/dev/null
	wait 2>/dev/null
	psql -q "$DATABASE_URL" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
die() {
	echo "FAIL $1"
	for f in "$tmp"/*.log; do echo "--- $f"; tail -15 "$f"; done
	exit 1
}
req() { nngcat --req --dial "$CRONFLEET_CLOCK_REP" --recv-timeout 3 --ascii --data "$1" 2>/dev/null; }
sql() { psql -qtA "$DATABASE_URL" -c "$1"; }
ms() { echo $(($(date +%s%N) / 1000000)); }
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" <<<"$2"; }

start_redis() {
	redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$tmp" \
		--save '' --appendonly no >>"$tmp/redis.log" 2>&1 &
	redis_pid=$!
	for _ in $(seq 100); do
		redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && return 0
		sleep 0.1
	done
	die "redis-server did not start"
}

stop_redis() {
	kill -9 "$redis_pid"
	wait "$redis_pid" 2>/dev/null
	redis_pid=
}

# start_clock <name>: a clock whose CRONFLEET_CLOCK_ID is <name>.
start_clock() {
	CRONFLEET_CLOCK_ID=$1 "$bin" 2>>"$tmp/$1.log" &
	pid[$1]=$!
}

# wait_leader <deadline ms> <pattern>: the status of a leader that
# matches pattern, into $st.
wait_leader() {
	local until=$(($(ms) + $1))
	while [ "$(ms)" -lt $until ]; do
		st=$(req status)
		grep -q "$2" <<<"$st" && return 0
		sleep 0.05
	done
	return 1
}

# The ledger of the test job as "second|epoch|outcome" lines.
ledger() {
	sql "SELECT extract(epoch FROM scheduled_for)::bigint, epoch, outcome FROM $schema.fires WHERE job = 'lease-job' ORDER BY scheduled_for"
}

start_redis
start_clock alpha
start_clock beta
wait_leader 15000 '"role":"leader"' || die "no clock leads: $st"
first=$(field clock_id "$st")
e1=$(field epoch "$st")
grep -q '"lease":"redis"' <<<"$st" && ok "$first leads, epoch $e1, through Redis" ||
	bad "lease: $st"
other=alpha
[ "$first" = alpha ] && other=beta
[ "$(redis-cli -p "$redis_port" get "cronfleet:clock:leader:$schema")" = "$first" ] &&
	ok "Redis key holds the leader's id" || bad "Redis key"
[ "$(sql "SELECT epoch || ' ' || holder || ' ' || via FROM $schema.leadership")" = "$e1 $first redis" ] &&
	ok "leadership row" || bad "leadership row: $(sql "SELECT * FROM $schema.leadership")"

out=$(req "register lease-job lease-svc '* * * * * *'")
grep -q '"next_fire"' <<<"$out" && ok register || bad "register: $out"

# Ticks carry the epoch: msgpack "epoch" (fixstr) then a positive fixint.
tick_has_epoch() {
	LC_ALL=C grep -c -a -F "$(printf '\xa5epoch\x'"$(printf %02x "$2")")" "$1"
}
timeout 3 nngcat --sub --dial "$CRONFLEET_CLOCK_PUB" --subscribe tick.lease-svc. --raw >"$tmp/ticks1" 2>/dev/null
n=$(tick_has_epoch "$tmp/ticks1" "$e1")
[ "$n" -ge 1 ] && ok "ticks carry epoch $e1 ($n)" || bad "ticks without epoch $e1"

until=$(($(ms) + 15000))
while [ "$(ms)" -lt $until ] && [ "$(sql "SELECT count(*) FROM $schema.fires WHERE job = 'lease-job'")" -lt 3 ]; do
	sleep 0.2
done
n=$(sql "SELECT count(*) FROM $schema.fires WHERE job = 'lease-job' AND epoch = $e1")
[ "$n" -ge 3 ] && ok "the leader fires ($n ledger rows)" || bad "ledger: $n rows"
grep -q '"leadership acquired"' "$tmp/$other.log" && bad "the standby acquired" ||
	ok "the standby stays standby"

# ---- kill -9 the leader -------------------------------------------------
kill -9 "${pid[$first]}"
wait "${pid[$first]}" 2>/dev/null
unset "pid[$first]"
t0=$(ms)
wait_leader 30000 "\"clock_id\":\"$other\"" || die "no takeover by $other: $st"
t_status=$(($(ms) - t0))
e2=$(field epoch "$st")
[ "$e2" -gt "$e1" ] && ok "$other leads with epoch $e2 > $e1" || bad "epoch $e2 after $e1"
until=$(($(ms) + 15000))
while [ "$(ms)" -lt $until ] &&
	[ "$(sql "SELECT count(*) FROM $schema.fires WHERE epoch = $e2 AND outcome = 'published'")" -lt 1 ]; do
	sleep 0.05
done
t_fire=$(($(ms) - t0))
echo "     takeover after kill -9: status after ${t_status} ms, first fire of epoch $e2 after ${t_fire} ms (lease ${lease_ms} ms)"
[ "$t_status" -le $((lease_ms + 5000)) ] && ok "takeover within the lease (+5 s slack)" ||
	bad "takeover took ${t_status} ms"

timeout 3 nngcat --sub --dial "$CRONFLEET_CLOCK_PUB" --subscribe tick.lease-svc. --raw >"$tmp/ticks2" 2>/dev/null
n=$(tick_has_epoch "$tmp/ticks2" "$e2")
[ "$n" -ge 1 ] && ok "ticks carry the new epoch $e2 ($n)" || bad "ticks without epoch $e2"
n=$(tick_has_epoch "$tmp/ticks2" "$e1")
[ "$n" -eq 0 ] && ok "no tick with the old epoch" || bad "$n ticks with epoch $e1"

# No fire twice, and every second from the first to the last is in the
# ledger (published, or skipped with a reason by the catch-up).
rows=$(sql "SELECT count(*), count(DISTINCT fire_id), count(DISTINCT scheduled_for), extract(epoch FROM max(scheduled_for) - min(scheduled_for))::bigint + 1 FROM $schema.fires WHERE job = 'lease-job'")
IFS='|' read -r total ids instants span <<<"$rows"
[ "$total" = "$ids" ] && [ "$total" = "$instants" ] && ok "no fire twice ($total fires)" ||
	bad "duplicates: $rows"
[ "$total" = "$span" ] && ok "no second missing across the takeover ($span s)" ||
	bad "gap: $total fires over $span s: $(ledger | tr '\n' ' ')"
n=$(sql "SELECT count(*) FROM $schema.fires WHERE outcome = 'skipped' AND coalesce(reason, '') = ''")
[ "$n" = 0 ] && ok "every skipped fire has a reason" || bad "$n skipped without reason"

# Epochs never interleave: no fire of an older epoch written after one of
# a newer epoch.
interleaved() {
	sql "SELECT count(*) FROM $schema.fires a JOIN $schema.fires b ON a.epoch < b.epoch AND a.seq > b.seq"
}
[ "$(interleaved)" = 0 ] && ok "one epoch at a time in the ledger" || bad "epochs interleave"

# ---- Redis stopped: the leader keeps leading through PostgreSQL ---------
leader=$other
start_clock "$first-2"
standby=$first-2
sleep 1
stop_redis
t0=$(ms)
wait_leader 15000 '"lease":"postgres"' || die "the leader did not move to PostgreSQL: $st"
echo "     lease on PostgreSQL $(($(ms) - t0)) ms after Redis stopped"
[ "$(field clock_id "$st")" = "$leader" ] && [ "$(field epoch "$st")" = "$e2" ] &&
	ok "$leader keeps leading (epoch $e2) through the PostgreSQL lock" ||
	bad "after Redis stopped: $st"
# A whole lease and more, so that the standby has tried the lock.
sleep $((lease_ms / 1000 + 3))
kill -0 "${pid[$leader]}" && kill -0 "${pid[$standby]}" && ok "both clocks alive without Redis" ||
	bad "a clock died without Redis"
grep -q '"leadership acquired"' "$tmp/$standby.log" && bad "the standby acquired without Redis" ||
	ok "the standby does not lead without Redis"
st=$(req status)
grep -q "\"clock_id\":\"$leader\".*\"lease\":\"postgres\"" <<<"$st" && ok "still $leader on PostgreSQL" ||
	bad "status without Redis: $st"
n=$(sql "SELECT count(*) FROM $schema.fires WHERE epoch <> $e2 AND published_at > now() - interval '$((lease_ms / 1000 + 3)) seconds'")
[ "$n" = 0 ] && ok "only epoch $e2 fires" || bad "$n fires of another epoch"
[ "$(sql "SELECT via FROM $schema.leadership")" = postgres ] && ok "leadership.via = postgres" ||
	bad "leadership.via: $(sql "SELECT via FROM $schema.leadership")"

# ---- Redis back: the lease returns to Redis ---------------------------
start_redis
wait_leader 15000 '"lease":"redis"' || die "the lease did not return to Redis: $st"
[ "$(field clock_id "$st")" = "$leader" ] && [ "$(field epoch "$st")" = "$e2" ] &&
	ok "lease back on Redis, $leader still leads" || bad "after Redis is back: $st"
[ "$(redis-cli -p "$redis_port" get "cronfleet:clock:leader:$schema")" = "$leader" ] &&
	ok "Redis key holds $leader again" || bad "Redis key after restart"

# ---- SIGTERM on the leader: the standby leads at once ---------------------
# The leader deletes its key: the standby takes over before the key would
# have expired (it was renewed at most a third of a lease ago).
pttl=$(redis-cli -p "$redis_port" pttl "cronfleet:clock:leader:$schema")
kill -TERM "${pid[$leader]}"
t0=$(ms)
wait_leader 15000 "\"clock_id\":\"$standby\"" || die "no takeover after SIGTERM: $st"
t_term=$(($(ms) - t0))
e3=$(field epoch "$st")
echo "     takeover after SIGTERM: ${t_term} ms (the key had ${pttl} ms to live)"
[ "$t_term" -lt "$pttl" ] && ok "standby leads at once after SIGTERM (epoch $e3)" ||
	bad "takeover after SIGTERM took ${t_term} ms: key not deleted?"
wait "${pid[$leader]}"
rc=$?
unset "pid[$leader]"
[ $rc -eq 0 ] && ok "SIGTERM exits 0" || bad "SIGTERM exit status $rc"
grep -q '"leadership given up"' "$tmp/$leader.log" && ok "the old leader logged giving up" ||
	bad "no step-down line"
until=$(($(ms) + 15000))
while [ "$(ms)" -lt $until ] &&
	[ "$(sql "SELECT count(*) FROM $schema.fires WHERE epoch = $e3 AND outcome = 'published'")" -lt 2 ]; do
	sleep 0.1
done
n=$(sql "SELECT count(*) FROM $schema.fires WHERE epoch = $e3 AND outcome = 'published'")
[ "$n" -ge 2 ] && ok "the new leader fires ($n)" || bad "epoch $e3 fires: $n"

# Overall: no fire twice, one epoch at a time.
rows=$(sql "SELECT count(*), count(DISTINCT fire_id) FROM $schema.fires")
[ "${rows%|*}" = "${rows#*|}" ] && ok "no fire twice overall (${rows%|*})" || bad "duplicates: $rows"
[ "$(interleaved)" = 0 ] && ok "epochs never interleave" || bad "epochs interleave"

# The clocks left stop cleanly.
for k in "${!pid[@]}"; do
	kill -TERM "${pid[$k]}"
	wait "${pid[$k]}"
	rc=$?
	unset "pid[$k]"
	[ $rc -eq 0 ] && ok "$k: SIGTERM exits 0" || bad "$k: exit status $rc"
done

# ---- virtual time anchored in the past ------------------------------------
# Virtual 2025-01-01T00:00:00Z was 20 real seconds ago: a clock started now
# is 20 virtual seconds in (not at the start), as any peer with the same
# anchor would be.
anchor=$(date -u -d '-20 seconds' +%Y-%m-%dT%H:%M:%SZ)
CRONFLEET_CLOCK_START=2025-01-01T00:00:00Z CRONFLEET_CLOCK_ANCHOR=$anchor start_clock anchored
wait_leader 15000 '"clock_id":"anchored"' || die "the anchored clock does not lead: $st"
sa=$(field started_at "$st")
sec=${sa:17:2}
[[ $sa == 2025-01-01T00:00:* ]] && [ "${sec#0}" -ge 19 ] && [ "${sec#0}" -lt 50 ] &&
	ok "CRONFLEET_CLOCK_ANCHOR: started at virtual $sa" || bad "anchored start: $sa"
kill -TERM "${pid[anchored]}"
wait "${pid[anchored]}"
unset "pid[anchored]"

# ---- configuration errors ------------------------------------------------
CRONFLEET_CLOCK_ANCHOR=2025-01-01T00:00:00Z timeout 10 "$bin" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && grep -q CRONFLEET_CLOCK_START "$tmp/err" && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
	ok "ANCHOR without START exits 2" || bad "anchor without start: rc=$rc $(cat "$tmp/err")"
CRONFLEET_CLOCK_LEASE=100ms timeout 10 "$bin" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && grep -q CRONFLEET_CLOCK_LEASE "$tmp/err" && ok "a lease under 500ms exits 2" ||
	bad "short lease: rc=$rc $(cat "$tmp/err")"

# No sanitizer report in any clock's log (under -DSANITIZE the reports go
# to the clock's stderr).
if grep -l 'Sanitizer\|runtime error:' "$tmp"/*.log; then
	bad "sanitizer report"
	grep -h -A20 'Sanitizer\|runtime error:' "$tmp"/*.log | head -60
else
	ok "no sanitizer report"
fi

if [ $fails -ne 0 ]; then
	echo "$fails failure(s)"
	for f in "$tmp"/*.log; do echo "--- $f"; grep -v '"tick published"' "$f" | tail -15; done
	exit 1
fi
echo "all passed"
