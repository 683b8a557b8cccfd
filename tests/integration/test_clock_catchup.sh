#!/usr/bin/env bash
# integration.clock.catchup: the clock's side of the guarantees
# (docs/guarantees.md), with the real cronfleet-clock on the real
# PostgreSQL (and Redis for its lease), driven with nngcat, checked in
# clock.fires with psql. Virtual time makes hours pass in seconds.
#   run 1 (3600x from 2030-01-01): three hourly jobs, misfire once / all /
#     skip with a 2 h window, fire a few hours; the clock stops.
#   run 2 (60x from 2030-01-02T00:30, a day later): the backlog is caught
#     up per policy (reasons, triggers, the window) from the stored
#     policies, before any service registers again; every instant of each
#     schedule is in the ledger exactly once; pause -> "paused" rows,
#     resume -> published again; stop/start -> "scheduler stopped" rows;
#     the ledger refusing writes (a CHECK constraint added for a while)
#     -> fires late, then caught up; "fires" paging and min_age; "chain"
#     fires the child once (idempotent), skips it while paused, refuses a
#     fire that is not the parent's; cycles and bad options refused.
#   run 3 (36000x over the 2025 spring-forward in Berlin): 02:30 with
#     dst_gap=skip is recorded skipped "dst gap (policy skip)"; the same
#     schedule with the default policy fires shifted.
# Every wait is a poll with a generous deadline.
set -u
bin=${1:?usage: test_clock_catchup.sh path/to/cronfleet-clock}
: "${DATABASE_URL:?DATABASE_URL is not set: run through scripts/test}"
export CRONFLEET_CLOCK_SCHEMA="clock_cu_$$_$RANDOM"
schema=$CRONFLEET_CLOCK_SCHEMA

# Ports from this test's band, 2000-2999: REP and PUB.
busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
base=$((2000 + ($$ % 495) * 2))
while busy "$base" || busy $((base + 1)); do
	base=$((base + 2))
	[ $base -gt 2996 ] && base=2000
done
export CRONFLEET_CLOCK_REP="tcp://127.0.0.1:$base"
export CRONFLEET_CLOCK_PUB="tcp://127.0.0.1:$((base + 1))"

tmp=$(mktemp -d)
fails=0
pid=

cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	wait 2>/dev/null
	psql -q "$DATABASE_URL" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
die() {
	echo "FAIL $1"
	echo "--- clock log"; tail -30 "$tmp/log"
	exit 1
}
req() { nngcat --req --dial "$CRONFLEET_CLOCK_REP" --recv-timeout 5 --ascii --data "$1" 2>&1; }
sql() { psql -qtA "$DATABASE_URL" -c "$1"; }
F="$schema.fires"

# wait_for <what> <deadline s> <SQL yielding t or f>
wait_for() {
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do
		[ "$(sql "$3" 2>/dev/null)" = t ] && return 0
		sleep 0.2
	done
	bad "timed out waiting for: $1"
	return 1
}

# start_clock <start> <rate>: a clock on virtual time; returns once it
# answers (it listens only once it leads; alone, it leads at once).
start_clock() {
	CRONFLEET_CLOCK_START=$1 CRONFLEET_CLOCK_RATE=$2 "$bin" 2>>"$tmp/log" &
	pid=$!
	for _ in $(seq 200); do
		req ping | grep -q pong && return 0
		kill -0 "$pid" 2>/dev/null || die "clock exited"
		sleep 0.1
	done
	die "clock did not answer"
}

stop_clock() {
	kill -TERM "$pid"
	wait "$pid"
	local rc=$?
	pid=
	[ $rc -eq 0 ] || bad "clock exit status $rc"
}

# ---- run 1: fire a few hours -------------------------------------------
start_clock 2030-01-01T00:00:00Z 3600
for p in once all skip; do
	out=$(req "register c-$p it-svc '0 * * * *' '' misfire=$p window=2h")
	grep -q "\"misfire\":\"$p\",\"catchup_window_ms\":7200000" <<<"$out" ||
		bad "register c-$p: $out"
done
wait_for "two hourly fires of each job" 60 \
	"SELECT count(*) >= 6 FROM $F WHERE scheduled_for >= '2030-01-01T02:00Z'"
stop_clock
ok "run 1: $(sql "SELECT count(*) FROM $F") fires, up to $(sql "SELECT max(scheduled_for) AT TIME ZONE 'UTC' FROM $F")"

# ---- run 2: a day later --------------------------------------------------
start_clock 2030-01-02T00:30:00Z 60
wait_for "the backlog handled" 30 \
	"SELECT count(*) = 3 FROM $F WHERE scheduled_for = '2030-01-02T00:00Z'"

# The backlog is (last fire of run 1, 2030-01-02T00:00]; now is 00:30, so
# the 2 h window holds 2030-01-01T23:00 and 2030-01-02T00:00.
backlog() { # <job> <columns>: the backlog rows of a job, oldest first
	sql "SELECT $2 FROM $F WHERE job = '$1' AND trigger = 'catchup'
	     AND scheduled_for <= '2030-01-02T00:00Z' ORDER BY scheduled_for"
}
outside="outcome = 'skipped' AND reason = 'missed: outside the catch-up window'"
for p in once all skip; do
	n_out=$(sql "SELECT count(*) FROM $F WHERE job = 'c-$p' AND trigger = 'catchup'
	             AND scheduled_for < '2030-01-01T23:00Z' AND $outside")
	n_bl=$(sql "SELECT count(*) FROM $F WHERE job = 'c-$p' AND trigger = 'catchup'
	            AND scheduled_for < '2030-01-01T23:00Z'")
	[ "$n_out" -ge 10 ] && [ "$n_out" = "$n_bl" ] &&
		ok "c-$p: $n_out fires before the window skipped as outside it" ||
		bad "c-$p: outside the window: $n_out of $n_bl"
done
got=$(backlog c-once "to_char(scheduled_for AT TIME ZONE 'UTC', 'DD HH24'), outcome, coalesce(reason, '')" | tail -2 | tr '\n' ';')
[ "$got" = "01 23|skipped|coalesced into c-once@2030-01-02T00:00:00Z;02 00|published|;" ] &&
	ok "once: the latest in the window published as catchup, the other coalesced" ||
	bad "once: $got"
got=$(backlog c-all "to_char(scheduled_for AT TIME ZONE 'UTC', 'DD HH24'), outcome" | tail -2 | tr '\n' ';')
[ "$got" = "01 23|published;02 00|published;" ] &&
	ok "all: each fire in the window published as catchup" || bad "all: $got"
got=$(backlog c-skip "outcome, reason" | tail -2 | tr '\n' ';')
[ "$got" = "skipped|missed (misfire policy skip);skipped|missed (misfire policy skip);" ] &&
	ok "skip: each fire in the window skipped with the policy's reason" ||
	bad "skip: $got"

# Every instant between each job's first and last fire, exactly once.
contiguous() { # <job> <step seconds>: "t" when no instant is missing or twice
	sql "SELECT count(*) = count(DISTINCT scheduled_for) AND count(*) =
	            extract(epoch FROM max(scheduled_for) - min(scheduled_for)) / $2 + 1
	     FROM $F WHERE job = '$1' AND trigger IN ('schedule', 'catchup')"
}
for p in once all skip; do
	[ "$(contiguous c-$p 3600)" = t ] && ok "c-$p: every hour in the ledger once" ||
		bad "c-$p: hours missing or doubled: $(sql "SELECT count(*), min(scheduled_for), max(scheduled_for) FROM $F WHERE job = 'c-$p'")"
done
[ "$(sql "SELECT count(*) FROM $F WHERE outcome = 'skipped' AND reason IS NULL")" = 0 ] &&
	ok "every skipped fire has a reason" || bad "skipped fires without a reason"

# ---- pause / resume, stop / start (a fire every virtual minute = 1 s) ----
out=$(req "register m-job it-svc '* * * * *'")
grep -q '"next_fire"' <<<"$out" || bad "register m-job: $out"
wait_for "m-job fires" 20 "SELECT count(*) >= 2 FROM $F WHERE job = 'm-job' AND outcome = 'published'"
grep -q '"paused":true' <<<"$(req "pause m-job")" || bad "pause"
wait_for "paused fires recorded" 20 \
	"SELECT count(*) >= 2 FROM $F WHERE job = 'm-job' AND reason = 'paused'"
grep -q '"paused":false' <<<"$(req "resume m-job")" || bad "resume"
wait_for "fires again after resume" 20 \
	"SELECT count(*) >= 1 FROM $F WHERE job = 'm-job' AND outcome = 'published'
	 AND scheduled_for > (SELECT max(scheduled_for) FROM $F WHERE job = 'm-job' AND reason = 'paused')" &&
	ok "pause: fires recorded skipped 'paused'; resume: published again"
grep -q '"stopped"' <<<"$(req stop)" || bad stop
wait_for "stopped fires recorded" 20 \
	"SELECT count(*) >= 2 FROM $F WHERE job = 'm-job' AND reason = 'scheduler stopped'"
grep -q '"running"' <<<"$(req start)" || bad start
wait_for "fires again after start" 20 \
	"SELECT count(*) >= 1 FROM $F WHERE job = 'm-job' AND outcome = 'published'
	 AND scheduled_for > (SELECT max(scheduled_for) FROM $F WHERE reason = 'scheduler stopped')" &&
	ok "stop: fires recorded skipped 'scheduler stopped'; start: published again"
[ "$(contiguous m-job 60)" = t ] && ok "m-job: every minute in the ledger once" ||
	bad "m-job: minutes missing or doubled"
out=$(req "history m-job 1000")
grep -q '"outcome":"skipped","reason":"paused"' <<<"$out" &&
	grep -q '"outcome":"skipped","reason":"scheduler stopped"' <<<"$out" &&
	grep -q '"outcome":"published","reason":null' <<<"$out" &&
	ok "history: skipped fires with their reasons" || bad "history: ${out:0:300}"
[ "$(req "history m-job 3" | grep -o '"fire_id"' | wc -l)" = 3 ] &&
	ok "history: n fires" || bad "history n"

# ---- the ledger refuses writes for a while: fires wait, then catch up ----
out=$(req "register w-job it-svc '* * * * *' misfire=all")
wait_for "w-job fires" 20 "SELECT count(*) >= 1 FROM $F WHERE job = 'w-job'"
sql "ALTER TABLE $F ADD CONSTRAINT it_refuse CHECK (job <> 'w-job') NOT VALID" >/dev/null
before=$(sql "SELECT count(*) FROM $F WHERE job = 'w-job'")
sleep 8
after=$(sql "SELECT count(*) FROM $F WHERE job = 'w-job'")
sql "ALTER TABLE $F DROP CONSTRAINT it_refuse" >/dev/null
[ "$before" = "$after" ] && ok "nothing recorded while the ledger refuses" ||
	bad "recorded while refused: $before -> $after"
wait_for "the refused fires caught up" 20 \
	"SELECT count(*) >= 5 FROM $F WHERE job = 'w-job' AND trigger = 'catchup' AND outcome = 'published'" &&
	ok "refused fires published later as catchup (misfire all)"
[ "$(sql "SELECT count(*) FILTER (WHERE m.outcome = 'published') >= 5 FROM $F m
          WHERE m.job = 'm-job' AND m.scheduled_for BETWEEN
            (SELECT min(scheduled_for) FROM $F WHERE job = 'w-job' AND trigger = 'catchup')
            AND (SELECT max(scheduled_for) FROM $F WHERE job = 'w-job' AND trigger = 'catchup')")" = t ] &&
	ok "the other jobs went on meanwhile" || bad "m-job held back by w-job's refusal"
[ "$(contiguous w-job 60)" = t ] && ok "w-job: every minute in the ledger once" ||
	bad "w-job: minutes missing or doubled"
req ping | grep -q pong && ok "the clock stayed up" || bad "clock gone"
grep -q '"fire not recorded, tick not published"' "$tmp/log" &&
	ok "the refused write is logged" || bad "no log line for the refused write"

# ---- fires: paging, min_age ---------------------------------------------
want=$(sql "SELECT string_agg(fire_id, ' ' ORDER BY seq) FROM $F
            WHERE service = 'it-svc' AND outcome = 'published'")
after=0 got='' pages=0 more=true
while [ "$more" = true ] && [ $pages -lt 500 ]; do
	out=$(req "{\"cmd\":\"fires\",\"job\":\"it-svc\",\"args\":[\"$after\"],\"n\":7}")
	ids=$(grep -o '"fire_id":"[^"]*"' <<<"$out" | cut -d'"' -f4 | tr '\n' ' ')
	got="$got$ids"
	seqs=$(grep -o '"seq":[0-9]*' <<<"$out" | cut -d: -f2)
	[ -n "$seqs" ] && after=$(tail -1 <<<"$seqs")
	more=$(grep -o '"more":[a-z]*' <<<"$out" | cut -d: -f2)
	pages=$((pages + 1))
done
# Fires published while paging may come after the snapshot: compare its
# prefix.
[ -n "$want" ] && [ "${got:0:${#want}}" = "$want" ] && [ $pages -gt 2 ] &&
	ok "fires: $pages pages of 7 give every published fire once, in seq order" ||
	bad "fires paging: want '$want' got '$got'"
out=$(req "fires it-svc 0 600000")
grep -q '"fires":\[\],"more":false' <<<"$out" &&
	ok "fires: min_age_ms leaves out the recently published" || bad "min_age: $out"
out=$(req "fires it-svc 0")
grep -q '"now":18935' <<<"$out" && grep -q '"epoch":[1-9]' <<<"$out" &&
	! grep -q '"outcome"\|skipped' <<<"$out" &&
	ok "fires: now is the virtual time, epoch the leader's" || bad "fires: ${out:0:300}"
out=$(req "fires it-svc x")
grep -q '"success":false.*after_seq' <<<"$out" && ok "fires: bad after_seq refused" ||
	bad "fires bad: $out"

# ---- chain ----------------------------------------------------------------
out=$(req "register kid it-svc - after=c-all retries=4")
grep -q '"retries":4,"after":"c-all"' <<<"$out" || bad "register kid: $out"
row=$(sql "SELECT fire_id, (extract(epoch FROM scheduled_for) * 1000)::bigint FROM $F
           WHERE job = 'c-all' AND outcome = 'published' ORDER BY seq LIMIT 1")
pfid=${row%|*} pms=${row#*|}
out=$(req "chain c-all $pfid $pms")
kid="kid@${pfid#c-all@}"
grep -q "\"fired\":\[{\"job\":\"kid\",\"fire_id\":\"$kid\"}\]" <<<"$out" &&
	ok "chain: the child fires at the parent's instant" || bad "chain: $out"
out=$(req "chain c-all $pfid $pms")
grep -q '"fired":\[\]' <<<"$out" && ok "chain: a second call fires nothing" ||
	bad "chain again: $out"
[ "$(sql "SELECT count(*) || trigger || outcome FROM $F WHERE job = 'kid' GROUP BY trigger, outcome")" = 1dependencypublished ] &&
	ok "chain: one dependency fire in the ledger" || bad "chain ledger"
out=$(req "chain c-all $pfid $((pms + 1))")
grep -q '"success":false.*not a published fire of c-all' <<<"$out" &&
	ok "chain: a fire not the parent's is refused" || bad "chain wrong instant: $out"
grep -q "unknown job 'nobody'" <<<"$(req "chain nobody $pfid $pms")" &&
	ok "chain: unknown parent" || bad "chain unknown parent"
req "pause kid" >/dev/null
row=$(sql "SELECT fire_id, (extract(epoch FROM scheduled_for) * 1000)::bigint FROM $F
           WHERE job = 'c-all' AND outcome = 'published' ORDER BY seq DESC LIMIT 1")
out=$(req "chain c-all ${row%|*} ${row#*|}")
grep -q '"fired":\[\],"skipped":\[{"job":"kid".*"reason":"paused"' <<<"$out" &&
	[ "$(sql "SELECT count(*) FROM $F WHERE job = 'kid' AND reason = 'paused' AND trigger = 'dependency'")" = 1 ] &&
	ok "chain: a paused child is recorded skipped 'paused'" || bad "chain paused: $out"

# ---- registration refused -------------------------------------------------
req "register cy-a it-svc - after=cy-b" >/dev/null
out=$(req "register cy-b it-svc - after=cy-a")
grep -q '"success":false.*cycle: cy-b -> cy-a -> cy-b' <<<"$out" &&
	ok "a cycle of after is refused and spelled out" || bad "cycle: $out"
out=$(req "register cy-c it-svc - after=cy-c")
grep -q '"success":false.*cycle: cy-c -> cy-c' <<<"$out" && ok "after itself refused" ||
	bad "self: $out"
out=$(req "register x it-svc '* * * * *' '' window=forever")
grep -q '"success":false.*option window' <<<"$out" && ok "bad option named" ||
	bad "bad option: $out"
[ "$(sql "SELECT misfire || window_ms FROM $schema.schedules WHERE job = 'c-once'")" = once7200000 ] &&
	ok "policies stored in clock.schedules" || bad "policies not stored"
stop_clock

# ---- run 3: a DST gap under the skip policy --------------------------------
start_clock 2025-03-29T12:00:00Z 36000
req "register gap-skip it-svc '30 2 * * *' Europe/Berlin dst_gap=skip" >/dev/null
out=$(req "register gap-shift it-svc '30 2 * * *' Europe/Berlin")
grep -q '"dst_gap":"shift"' <<<"$out" || bad "register gap-shift: $out"
wait_for "the day after the gap" 30 \
	"SELECT count(*) = 2 FROM $F WHERE scheduled_for = '2025-03-31T00:30Z'"
got=$(sql "SELECT job || ' ' || outcome || ' ' || coalesce(reason, '-') FROM $F
           WHERE scheduled_for = '2025-03-30T01:30Z' ORDER BY job" | tr '\n' ';')
[ "$got" = "gap-shift published -;gap-skip skipped dst gap (policy skip);" ] &&
	ok "02:30 in the gap: skipped 'dst gap (policy skip)' (shift policy: fired at 03:30+02)" ||
	bad "dst gap: $got"
[ "$(sql "SELECT outcome FROM $F WHERE job = 'gap-skip' AND scheduled_for = '2025-03-31T00:30Z'")" = published ] &&
	ok "the next day's 02:30 fires" || bad "gap-skip next day"
stop_clock

if [ $fails -ne 0 ]; then
	echo "$fails failure(s)"; echo "--- clock log"; tail -30 "$tmp/log"
	exit 1
fi
echo "all passed"
