#!/usr/bin/env bash
# integration.clock: the real cronfleet-clock on the real PostgreSQL,
# driven with nngcat and checked in its tables with psql.
#   registration, ticks of a seconds schedule recorded in clock.fires with
#   their fire ids, manual trigger, a schedule changed at runtime and a
#   pause surviving a restart, garbage answered with an error, a bad
#   environment value exiting 2, SIGTERM exiting 0.
set -u
bin=${1:?usage: test_clock.sh path/to/cronfleet-clock}
: "${DATABASE_URL:?DATABASE_URL is not set: run through scripts/test}"
schema="clock_it_$$"
port=$((23000 + ($$ % 600) * 4))
rep="tcp://127.0.0.1:$port"
pub="tcp://127.0.0.1:$((port + 1))"
tmp=$(mktemp -d)
fails=0
pid=

cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	psql -q "$DATABASE_URL" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
req() { nngcat --req --dial "$rep" --ascii --data "$1" 2>&1; }
sql() { psql -qtA "$DATABASE_URL" -c "$1"; }

start_clock() {
	CRONFLEET_CLOCK_REP=$rep CRONFLEET_CLOCK_PUB=$pub \
		CRONFLEET_CLOCK_SCHEMA=$schema "$bin" 2>>"$tmp/log" &
	pid=$!
	for _ in $(seq 50); do
		req ping | grep -q pong && return 0
		sleep 0.1
	done
	echo "clock did not answer"; cat "$tmp/log"; exit 1
}

start_clock
out=$(req status)
grep -q '"scheduler":"running"' <<<"$out" && ok status || bad "status: $out"

out=$(req "register it-fast it-svc '*/1 * * * * *'")
grep -q '"next_fire"' <<<"$out" && ok register || bad "register: $out"

# Ticks arrive on the PUB socket with the job's topic.
timeout 3 nngcat --sub --dial "$pub" --subscribe tick.it-svc. --quoted >"$tmp/ticks" 2>/dev/null
n=$(grep -c '^"tick.it-svc.it-fast ' "$tmp/ticks")
[ "$n" -ge 2 ] && ok "ticks published ($n in 3 s)" || bad "ticks: $n"

# Every fire is in the ledger, once, with its fire id.
rows=$(sql "SELECT count(*), count(DISTINCT fire_id) FROM $schema.fires WHERE job = 'it-fast'")
total=${rows%|*}
distinct=${rows#*|}
[ "$total" -ge 3 ] && [ "$total" = "$distinct" ] && ok "ledger rows ($total)" || bad "ledger: $rows"
fid=$(sql "SELECT fire_id FROM $schema.fires WHERE job = 'it-fast' ORDER BY scheduled_for LIMIT 1")
[[ $fid == it-fast@*Z ]] && ok "fire id form ($fid)" || bad "fire id: $fid"

out=$(req "trigger it-fast")
grep -q '"trigger":"manual"' <<<"$out" && ok trigger || bad "trigger: $out"
[ "$(sql "SELECT count(*) FROM $schema.fires WHERE trigger = 'manual'")" = 1 ] &&
	ok "manual fire in the ledger" || bad "manual fire not in the ledger"

# n fires at once (the gateway's shared triggers): each its own instant,
# all in the ledger; more than 64 refused.
out=$(req "trigger it-fast 5")
ids=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1])["data"]; print(" ".join(f["fire_id"] for f in d["fires"]))' "$out" 2>/dev/null)
n=$(wc -w <<<"$ids")
nd=$(tr ' ' '\n' <<<"$ids" | sort -u | grep -c .)
inl=0
for f in $ids; do
	[ "$(sql "SELECT count(*) FROM $schema.fires WHERE fire_id = '$f' AND trigger = 'manual' AND outcome = 'published'")" = 1 ] && inl=$((inl + 1))
done
[ "$n" = 5 ] && [ "$nd" = 5 ] && [ "$inl" = 5 ] && ok "trigger it-fast 5: five distinct fires, all published in the ledger" ||
	bad "trigger with n: $n fires, $nd distinct, $inl in the ledger: $out"
out=$(req "trigger it-fast 65")
grep -q "invalid n: 65 fires at once; at most 64" <<<"$out" && ok "n above 64 refused" || bad "n 65: $out"

out=$(req "trigger no-such-job")
grep -q "unknown job 'no-such-job'" <<<"$out" && ok unknown_job || bad "unknown job: $out"

out=$(req "schedule it-fast '0 61 * * *'")
grep -q '"success":false.*hour: 61' <<<"$out" && ok bad_schedule || bad "bad schedule: $out"
out=$(req "schedule it-fast '0 3 * * *'")
grep -q '"schedule":"0 3 \* \* \*"' <<<"$out" && ok schedule || bad "schedule: $out"
out=$(req "pause it-fast")
grep -q '"paused":true' <<<"$out" && ok pause || bad "pause: $out"

# Garbage: an error reply, and the clock still answers.
head -c 512 /dev/urandom >"$tmp/garbage"
nngcat --req --dial "$rep" --file "$tmp/garbage" --raw >/dev/null 2>&1
out=$(req "{\"cmd\": ")
grep -q '"success":false' <<<"$out" && ok bad_json || bad "bad json: $out"
req ping | grep -q pong && ok "alive after garbage" || bad "dead after garbage"

# A restart keeps the runtime schedule and the pause, even when the
# service registers its default again.
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
[ $rc -eq 0 ] && ok "SIGTERM exits 0" || bad "SIGTERM exit status $rc"
start_clock
req "register it-fast it-svc '*/1 * * * * *'" >/dev/null
out=$(req jobs)
grep -q '"schedule":"0 3 \* \* \*".*"paused":true' <<<"$out" &&
	ok "runtime change survives restart" || bad "after restart: $out"
out=$(req stop)
grep -q '"stopped"' <<<"$out" && ok stop || bad "stop: $out"
kill -TERM "$pid"; wait "$pid"; pid=
start_clock
grep -q '"scheduler":"stopped"' <<<"$(req status)" && ok "stop survives restart" || bad "stop lost"
req start >/dev/null

# A bad environment value: exit 2, one line naming the variable.
CRONFLEET_CLOCK_SCHEMA=$schema ENABLE_SCHEDULER=perhaps "$bin" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && grep -q ENABLE_SCHEDULER "$tmp/err" && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
	ok "bad env exits 2" || bad "bad env: rc=$rc $(cat "$tmp/err")"

# SCHEDULER_TIMEZONE is the zone of schedules that name none, and
# ENABLE_SCHEDULER=false starts a fresh clock stopped.
kill -TERM "$pid"; wait "$pid"; pid=
sql "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1
SCHEDULER_TIMEZONE=Asia/Kolkata ENABLE_SCHEDULER=false start_clock
out=$(req "register tz-job it-svc '0 9 * * *'")
grep -q '"tz":"Asia/Kolkata".*"next_fire":"[^"]*T09:00:00+05:30"' <<<"$out" &&
	ok "SCHEDULER_TIMEZONE applies" || bad "default zone: $out"
grep -q '"scheduler":"stopped"' <<<"$(req status)" &&
	ok "ENABLE_SCHEDULER=false starts stopped" || bad "ENABLE_SCHEDULER=false: $(req status)"

# Virtual time: from 2025-03-29T23:00Z at 3600x, Berlin's 02:30 on the
# spring-forward day fires as 03:30+02:00 (01:30Z) about 2.5 s later.
kill -TERM "$pid"; wait "$pid"; pid=
sql "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1
CRONFLEET_CLOCK_START=2025-03-29T23:00:00Z CRONFLEET_CLOCK_RATE=3600 start_clock
req "register vt-job it-svc '30 2 * * *' Europe/Berlin" >/dev/null
sleep 4
got=$(sql "SELECT to_char(scheduled_for AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') FROM $schema.fires WHERE job = 'vt-job'")
[ "$got" = 2025-03-30T01:30:00 ] && ok "virtual time fires the shifted 02:30 ($got Z)" ||
	bad "virtual time: got '$got'"
kill -TERM "$pid"; wait "$pid"; pid=
CRONFLEET_CLOCK_START=yesterday "$bin" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && grep -q CRONFLEET_CLOCK_START "$tmp/err" && ok "bad CRONFLEET_CLOCK_START exits 2" ||
	bad "bad start: rc=$rc $(cat "$tmp/err")"

if [ $fails -ne 0 ]; then
	echo "$fails failure(s)"; echo "--- clock log"; tail -20 "$tmp/log"
	exit 1
fi
echo "all passed"
