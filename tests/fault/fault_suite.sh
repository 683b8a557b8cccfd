#!/usr/bin/env bash
# fault.suite: the guarantees of docs/guarantees.md under faults.
#
# Two clocks (one leads, one stands by: same addresses, same virtual
# timeline) and two replicas of cronfleet-testsvc (same schema) run a mix
# of jobs over more than 30 days of virtual time, on a PostgreSQL and a
# Redis of the suite's own. Meanwhile, at random moments: kill -9 of a
# random service replica (at least 50 times; restarted after a short
# random delay), kill -9 of the leading clock (several times; restarted
# as a standby), one restart of PostgreSQL and one of Redis. Then the
# scheduler is stopped, the runs are left to settle, and SQL over the
# clock's ledger (clock.fires) and the service's tables (job_runs,
# effects) must show, among others:
#   - every published fire of an `all`-policy job has exactly one
#     succeeded run, and no fire of any job has two;
#   - every fire in the ledger either has runs (settled: succeeded,
#     skipped, or a final failure) or was skipped with a reason; every
#     skipped run has a reason; every succeeded run did its work;
#   - the ledger has every scheduled instant of each job, and nothing
#     else; a late `skip` job never runs late, `once` coalesces into a fire
#     that was published; chained runs follow their parent's success only;
#   - retries stop when used up, permanent failures are not retried,
#     timeouts are enforced; epochs never go back in the ledger.
# It prints the counts (fires, runs, kills, takeovers, catch-up runs,
# retries) and exits 1 with the offending rows when a check fails.
#
# Usage: fault_suite.sh <build/bin>   (ctest: fault.suite, label fault)
# Environment (all optional):
#   FAULT_SEED      seed of every random choice (default: the time); it is
#                   printed: set it to replay the same fault plan (the
#                   timing of the machine still differs from run to run)
#   FAULT_DURATION  real seconds of faults (150)
#   FAULT_RATE      virtual seconds per real second (20000: 150 s of
#                   faults cover ~35 days)
#   FAULT_KILLS     least number of service kills (50)
#   FAULT_CLOCK_KILLS  kills of the leading clock (4)
#   FAULT_SETTLE    most real seconds to wait for the runs to settle (120)
#   FAULT_KEEP=1    keep the temporary directory (logs, PostgreSQL data)
# Only bounded waits, no timed assertions: a slow machine makes it slower,
# not red.
set -u
bindir=${1:?usage: fault_suite.sh path/to/build/bin}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/checks.sh"

seed=${FAULT_SEED:-$(date +%s)}
duration=${FAULT_DURATION:-150}
rate=${FAULT_RATE:-20000}
min_kills=${FAULT_KILLS:-50}
clock_kills=${FAULT_CLOCK_KILLS:-4}
settle=${FAULT_SETTLE:-120}
RANDOM=$seed
echo "FAULT_SEED=$seed  (replay the fault plan: FAULT_SEED=$seed ctest -R fault.suite)"
echo "duration ${duration}s of faults at ${rate}x, >= $min_kills service kills, $clock_kills clock kills"

for b in cronfleet-clock cronfleet-testsvc; do
	if [ ! -x "$bindir/$b" ]; then
		echo "FAIL $bindir/$b is missing (build the tests first)"
		exit 1
	fi
done
for t in nngcat psql redis-server redis-cli; do
	command -v "$t" >/dev/null || { echo "FAIL $t is not installed"; exit 1; }
done

FT_TMP=$(mktemp -d /tmp/cf-fault.XXXXXX)
chmod 755 "$FT_TMP"

finish() {
	local rc=$?
	ft_cleanup
	if [ "${FAULT_KEEP:-0}" = 1 ]; then
		echo "kept $FT_TMP"
	else
		rm -rf "$FT_TMP"
	fi
	exit $rc
}
trap finish EXIT
trap 'echo "FAIL internal deadline reached (SIGTERM)"; exit 1' TERM INT

# The suite ends itself (cleaning up) before ctest's TIMEOUT would kill it
# and leave PostgreSQL behind.
ft_watchdog "${FAULT_DEADLINE:-570}"

# Ports: PostgreSQL, Redis, clock REP/PUB, two replicas' REP/PUB.
base=$(ft_port_block 32500 32659 8) || { echo "FAIL no free ports in 32500-32659"; exit 1; }
pg_port=$base
redis_port=$((base + 1))
clock_rep=tcp://127.0.0.1:$((base + 2))
clock_pub=tcp://127.0.0.1:$((base + 3))
clock_rep_port=$((base + 2))

ft_pg_init "$pg_port" || exit 1
ft_redis_start "$redis_port" || { echo "FAIL redis-server did not start"; exit 1; }
ft_say "PostgreSQL :$pg_port, Redis :$redis_port, clock $clock_rep, tmp $FT_TMP"

CS=clock       # the clocks' schema
SS=fault_svc   # the replicas' schema
L=$CS.fires
R=$SS.job_runs
E=$SS.effects

# Virtual time: both clocks (and every restart) share one timeline.
vstart=2025-03-01T00:00:00Z   # March: Berlin springs forward on the 30th
vstart_s=$(date -u -d "$vstart" +%s)
anchor_ms=$(ft_now_ms)
anchor=$(date -u -d "@$((anchor_ms / 1000))" +%Y-%m-%dT%H:%M:%S).$(printf '%03d' $((anchor_ms % 1000)))Z

job_spec=$(IFS=';'; echo "${jobs[*]}")
njobs=${#jobs[@]}

# --- processes ---------------------------------------------------------
declare -a clk_pid=("" "") clk_state=(down down) clk_started=(0 0)
declare -a svc_pid=("" "") svc_state=(down down) svc_restart_at=(0 0) svc_started=(0 0)
unexpected=()   # processes that went away by themselves: a failure
refused=()      # processes that refused to start during a PostgreSQL restart
pg_down_at=0 pg_up_at=0

start_clock() { # <i>
	ft_spawn "clk_pid[$1]" "$FT_TMP/clock-$1.log" env \
		CRONFLEET_CLOCK_REP="$clock_rep" CRONFLEET_CLOCK_PUB="$clock_pub" \
		CRONFLEET_CLOCK_SCHEMA=$CS CRONFLEET_CLOCK_START=$vstart \
		CRONFLEET_CLOCK_RATE="$rate" CRONFLEET_CLOCK_ANCHOR="$anchor" \
		CRONFLEET_CLOCK_LEASE=2s DATABASE_URL="$DATABASE_URL" \
		REDIS_URL="$REDIS_URL" "$bindir/cronfleet-clock"
	clk_state[$1]=up
	clk_started[$1]=$(ft_now_ms)
}

start_svc() { # <i>
	ft_spawn "svc_pid[$1]" "$FT_TMP/svc-$1.log" env \
		CF_TESTSVC_NAME=testsvc CF_TESTSVC_JOBS="$job_spec" \
		CRONFLEET_TESTSVC_REP="tcp://127.0.0.1:$((base + 4 + 2 * $1))" \
		CRONFLEET_TESTSVC_PUB="tcp://127.0.0.1:$((base + 5 + 2 * $1))" \
		CRONFLEET_TESTSVC_SCHEMA=$SS CRONFLEET_TESTSVC_SWEEP=2s \
		CRONFLEET_CLOCK_REP="$clock_rep" CRONFLEET_CLOCK_PUB="$clock_pub" \
		DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" \
		"$bindir/cronfleet-testsvc"
	svc_state[$1]=up
	svc_started[$1]=$(ft_now_ms)
}

# A process we did not kill that is gone crashed (or exited): noted, and
# restarted so that the run goes on. One exception: a process that was
# still starting (opening PostgreSQL, migrating) when PostgreSQL was
# stopped may refuse to start, with an error status (not a signal).
gone() { # <name> <pid> <started_ms>
	local rc
	wait "$2" 2>/dev/null; rc=$?
	if [ $rc -ge 1 ] && [ $rc -lt 128 ] && [ $pg_down_at -gt 0 ] &&
		[ "$3" -ge $((pg_down_at - 10000)) ] && [ "$3" -le $((pg_up_at + 1000)) ]; then
		refused+=("$1 (status $rc, started during the PostgreSQL restart)")
		ft_say "$1 refused to start during the PostgreSQL restart ($rc)"
	else
		unexpected+=("$1 (pid $2) exited with status $rc")
		ft_say "UNEXPECTED: $1 (pid $2) exited ($rc)"
	fi
}
reap_unexpected() {
	local i
	for i in 0 1; do
		if [ "${clk_state[$i]}" = up ] && ! ft_alive "${clk_pid[$i]}"; then
			gone "clock-$i" "${clk_pid[$i]}" "${clk_started[$i]}"
			start_clock "$i"
		fi
		if [ "${svc_state[$i]}" = up ] && ! ft_alive "${svc_pid[$i]}"; then
			gone "svc-$i" "${svc_pid[$i]}" "${svc_started[$i]}"
			start_svc "$i"
		fi
	done
}

# rnd <lo> <hi>: RN = a random integer in [lo, hi], from the seeded
# $RANDOM of this shell (never in a subshell, or the sequence repeats).
rnd() { RN=$(($1 + (RANDOM * 32768 + RANDOM) % ($2 - $1 + 1))); }

leader_status() { ft_req "$clock_rep" status 2>/dev/null; }

# The virtual "now" of the leading clock, in unix seconds (from `fires`).
clock_now_s() {
	local out now
	out=$(ft_req "$clock_rep" "fires testsvc 999999999999") || return 1
	now=$(ft_json_field "$out" now)
	[[ $now =~ ^[0-9]+$ ]] || return 1
	echo $((now / 1000))
}

fail_early() {
	echo "FAIL $*"
	for f in "$FT_TMP"/*.log; do echo "--- $(basename "$f")"; tail -15 "$f"; done
	exit 1
}

# --- start -------------------------------------------------------------
start_clock 0
start_clock 1
for ((i = 0; i < 300; i++)); do
	leader_status | grep -q '"role":"leader"' && break
	sleep 0.1
done
st=$(leader_status) || fail_early "no clock leads after 30 s: $st"
ft_say "leader: $st"
start_svc 0
start_svc 1
# Registered? The clock lists all our jobs.
for ((i = 0; i < 300; i++)); do
	out=$(ft_req "$clock_rep" jobs 2>/dev/null)
	n=$(grep -o '"job":"f-[a-z]*"' <<<"$out" | sort -u | wc -l)
	[ "$n" -eq "$njobs" ] && break
	sleep 0.1
done
[ "$n" -eq "$njobs" ] || fail_early "the clock knows $n of $njobs jobs after 30 s: $out"
vready_s=$(clock_now_s) || vready_s=$vstart_s
ft_say "registered $njobs jobs; virtual now $(date -u -d "@$vready_s" +%FT%TZ)"

# --- faults ------------------------------------------------------------
t0=$(ft_now_ms)
end=$((t0 + duration * 1000))
hard_end=$((end + 120000))        # more kills if fewer than min_kills by then
avg_gap=$((duration * 1000 * 8 / 10 / min_kills))   # ~1.25 kills per needed one
rnd 200 $((2 * avg_gap)); next_kill=$((t0 + RN))
clock_at=()
for ((k = 0; k < clock_kills; k++)); do
	slot=$((duration * 1000 / clock_kills))
	rnd $((slot / 5)) $((slot * 4 / 5))
	clock_at+=($((t0 + k * slot + RN)))
done
rnd $((duration * 250)) $((duration * 450)); pg_at=$((t0 + RN))
rnd $((duration * 550)) $((duration * 750)); redis_at=$((t0 + RN))
kills=0 clock_killed=0 pg_restarts=0 redis_restarts=0
await_epoch= await_since=0 await_poll=0 await_clock=-1
takeovers=()
no_takeover=()
next_clock=0

epoch_of() { ft_json_field "$1" epoch; }

while :; do
	now=$(ft_now_ms)
	if [ "$now" -ge "$end" ] && [ $kills -ge "$min_kills" ] &&
		[ $next_clock -ge "$clock_kills" ] && [ -z "$await_epoch" ] &&
		[ $pg_restarts -ge 1 ] && [ $redis_restarts -ge 1 ]; then
		break
	fi
	[ "$now" -ge "$hard_end" ] && break
	reap_unexpected

	for i in 0 1; do
		if [ "${svc_state[$i]}" = down ] && [ "$now" -ge "${svc_restart_at[$i]}" ]; then
			start_svc "$i"
		fi
	done

	# A random replica, at a random moment.
	if [ "$now" -ge "$next_kill" ]; then
		rnd 0 1; i=$RN
		[ "${svc_state[$i]}" = up ] || i=$((1 - i))
		if [ "${svc_state[$i]}" = up ]; then
			ft_kill9 "${svc_pid[$i]}"
			svc_state[$i]=down
			rnd 100 2000; svc_restart_at[$i]=$((now + RN))
			kills=$((kills + 1))
			echo "$(date -u +%T.%3N) kill -9 svc-$i (#$kills), back in ${RN} ms" >>"$FT_TMP/events.log"
		fi
		rnd 100 $((2 * avg_gap)); next_kill=$((now + RN))
	fi

	# The leading clock, whichever it is.
	if [ -z "$await_epoch" ] && [ $next_clock -lt "$clock_kills" ] &&
		[ "$now" -ge "${clock_at[$next_clock]}" ]; then
		st=$(leader_status)
		lp=$(ft_listener_pid "$clock_rep_port" "${clk_pid[0]}" "${clk_pid[1]}")
		if [ -n "$lp" ] && [[ $st == *'"role":"leader"'* ]]; then
			i=0; [ "$lp" = "${clk_pid[1]}" ] && i=1
			await_epoch=$(epoch_of "$st")
			ft_kill9 "$lp"
			clk_state[$i]=down
			await_clock=$i
			await_since=$(ft_now_ms)
			clock_killed=$((clock_killed + 1))
			next_clock=$((next_clock + 1))
			ft_say "kill -9 leading clock-$i (pid $lp, epoch $await_epoch)"
		else
			clock_at[$next_clock]=$((now + 500))   # no leader right now: soon
		fi
	fi
	# Waiting for the standby to take over; then the killed one comes back
	# as the new standby.
	if [ -n "$await_epoch" ] && [ "$now" -ge "$await_poll" ]; then
		await_poll=$((now + 250))
		st=$(leader_status)
		e=$(epoch_of "$st")
		if [[ $st == *'"role":"leader"'* ]] && [[ $e =~ ^[0-9]+$ ]] &&
			[[ $await_epoch =~ ^[0-9]+$ ]] && [ "$e" -gt "$await_epoch" ]; then
			takeovers+=("$(( $(ft_now_ms) - await_since ))")
			ft_say "takeover: epoch $await_epoch -> $e after ${takeovers[-1]} ms (real)"
			await_epoch=
		elif [ $((now - await_since)) -gt 30000 ]; then
			no_takeover+=("epoch $await_epoch: no new leader 30 s after the kill (last status: $st)")
			ft_say "no takeover within 30 s: $st"
			await_epoch=
		fi
		if [ -z "$await_epoch" ]; then
			start_clock "$await_clock"
		fi
	fi

	if [ $pg_restarts -lt 1 ] && [ "$now" -ge "$pg_at" ]; then
		rnd 500 3000
		ft_say "PostgreSQL: fast stop, ${RN} ms down, start"
		pg_down_at=$(ft_now_ms)
		pg_up_at=$((pg_down_at + 600000))
		ft_pg_stop fast
		sleep "$((RN / 1000)).$(printf %03d $((RN % 1000)))"
		ft_pg_start || fail_early "PostgreSQL did not come back"
		pg_up_at=$(ft_now_ms)
		pg_restarts=1
	fi
	if [ $redis_restarts -lt 1 ] && [ "$now" -ge "$redis_at" ]; then
		rnd 500 3000
		ft_say "Redis: stop, ${RN} ms down, start"
		ft_redis_stop
		sleep "$((RN / 1000)).$(printf %03d $((RN % 1000)))"
		ft_redis_start "$redis_port" || fail_early "Redis did not come back"
		redis_restarts=1
	fi
	sleep 0.05
done
ft_say "faults done: $kills service kills, $clock_killed clock kills, PostgreSQL $pg_restarts, Redis $redis_restarts restart(s)"

# --- stop and settle ---------------------------------------------------
for i in 0 1; do
	[ "${svc_state[$i]}" = down ] && start_svc "$i"
	[ "${clk_state[$i]}" = down ] && start_clock "$i"
done
for ((i = 0; i < 600; i++)); do
	reap_unexpected
	leader_status | grep -q '"role":"leader"' && break
	sleep 0.1
done
vstop_s=$(clock_now_s) || vstop_s=
stopped=0
for ((i = 0; i < 60; i++)); do
	if ft_req "$clock_rep" stop | grep -q '"scheduler":"stopped"'; then
		stopped=1
		break
	fi
	sleep 0.5
done
[ -n "$vstop_s" ] || vstop_s=$(clock_now_s) || vstop_s=0
ft_say "scheduler stopped=$stopped at virtual $(date -u -d "@$vstop_s" +%FT%TZ) ($(((vstop_s - vstart_s) / 86400)) days after $vstart)"

unsettled_sql="
WITH pub AS (SELECT job, fire_id, scheduled_for FROM $L
             WHERE outcome = 'published' AND service = 'testsvc')
SELECT (SELECT count(*) FROM $R WHERE status = 'running'),
       (SELECT count(*) FROM pub p WHERE NOT EXISTS (
            SELECT 1 FROM $R r WHERE r.job = p.job AND r.fire_id = p.fire_id
              AND (r.status IN ('succeeded', 'skipped')
                   OR (r.status IN ('failed', 'timed_out') AND r.final)))),
       (SELECT count(*) FROM $R r WHERE r.job = 'f-retry' AND r.status = 'succeeded'
          AND NOT EXISTS (SELECT 1 FROM $L c WHERE c.job = 'f-child'
                            AND c.scheduled_for = r.scheduled_for)),
       (SELECT count(*) FROM $R)"
# Settled: nothing running, every published fire settled, every parent
# success chained, and the same for two polls in a row. A state that does
# not move at all for 45 s (15 sweeps) will not settle: stop waiting.
prev=
settled=0
deadline=$(($(ft_now_ms) + settle * 1000))
moved=$(ft_now_ms)
while [ "$(ft_now_ms)" -lt $deadline ]; do
	reap_unexpected
	cur=$(ft_sql "$unsettled_sql" 2>&1)
	if [[ $cur =~ ^0\|0\|0\| ]] && [ "$cur" = "$prev" ]; then
		settled=1
		break
	fi
	[ "$cur" != "$prev" ] && moved=$(ft_now_ms)
	if [ $(($(ft_now_ms) - moved)) -gt 45000 ]; then
		ft_say "no progress for 45 s: $cur"
		break
	fi
	prev=$cur
	sleep 3
done
ft_say "settled=$settled (running|unsettled fires|unchained|runs: $cur)"
# The ledger stops growing (a stopped scheduler still records each instant
# as skipped): the clocks end here, the replicas stay for the checks.
for i in 0 1; do
	if [ "${clk_state[$i]}" = up ]; then
		clk_state[$i]=down
		ft_stop "${clk_pid[$i]}" || unexpected+=("clock-$i: SIGTERM exit status $?")
	fi
done

# --- checks ------------------------------------------------------------
fails=0
[ $settled -eq 1 ] && ok "runs settled" ||
	bad "runs did not settle (running|unsettled published fires|unchained parent successes|runs): $cur"
[ ${#refused[@]} -eq 0 ] || echo "note: ${refused[*]}"
[ ${#unexpected[@]} -eq 0 ] && ok "no process exited unless killed" ||
	bad "processes exited by themselves: ${unexpected[*]}"
[ $kills -ge "$min_kills" ] && ok "service kills: $kills (>= $min_kills)" || bad "only $kills service kills"
[ $clock_killed -ge "$clock_kills" ] && ok "leading clock killed $clock_killed times" ||
	bad "leading clock killed only $clock_killed times (no leader found to kill)"
[ ${#no_takeover[@]} -eq 0 ] && ok "a standby took over after every leader kill" ||
	bad "no takeover: ${no_takeover[*]}"
[ "$stopped" -eq 1 ] && ok "scheduler stopped for the settling" || bad "'stop' was never accepted"

fault_sql_checks

# --- counts ------------------------------------------------------------
echo
echo "=== counts (FAULT_SEED=$seed)"
echo "virtual time: $(date -u -d "@$vready_s" +%FT%TZ) .. $(date -u -d "@$vstop_s" +%FT%TZ) ($(((vstop_s - vready_s) / 86400)) days at ${rate}x)"
echo "faults: $kills service kills, $clock_killed leader kills, $pg_restarts PostgreSQL restart, $redis_restarts Redis restart"
echo "takeovers observed (real ms after the kill): ${takeovers[*]:-none}"
psql -X -q -P pager=off "$DATABASE_URL" <<SQL
SELECT outcome, trigger, count(*) AS fires FROM $L GROUP BY 1, 2 ORDER BY 1, 2;
SELECT regexp_replace(reason, 'coalesced into .*', 'coalesced into <fire>') AS skipped_reason, count(*) AS fires
  FROM $L WHERE outcome = 'skipped' GROUP BY 1 ORDER BY 2 DESC;
SELECT count(DISTINCT epoch) AS epochs, count(DISTINCT epoch) - 1 AS takeovers, min(epoch), max(epoch)
  FROM $L;
SELECT status, count(*) AS runs FROM $R GROUP BY 1 ORDER BY 1;
SELECT regexp_replace(error, 'run \S+', 'run <id>') AS run_skipped_reason, count(*) AS runs
  FROM $R WHERE status = 'skipped' GROUP BY 1 ORDER BY 2 DESC;
SELECT left(regexp_replace(error, 'run \S+', 'run <id>'), 70) AS error, status, count(*) AS runs
  FROM $R WHERE status IN ('failed', 'timed_out', 'interrupted')
  GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 12;
SELECT count(*) FILTER (WHERE trigger = 'catchup') AS catchup_runs,
       count(*) FILTER (WHERE attempt > 1) AS retry_attempts,
       count(*) FILTER (WHERE status = 'interrupted') AS interrupted,
       (SELECT count(*) FROM $E) AS effects
  FROM $R;
SELECT job, count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'timed_out') AS timed_out,
       count(*) FILTER (WHERE status = 'skipped') AS skipped,
       count(*) FILTER (WHERE status = 'interrupted') AS interrupted
  FROM $R GROUP BY 1 ORDER BY 1;
SQL

if [ $fails -ne 0 ]; then
	echo "$fails check(s) failed (FAULT_SEED=$seed)"
	echo "--- events"; tail -20 "$FT_TMP/events.log" 2>/dev/null
	for f in "$FT_TMP"/clock-*.log "$FT_TMP"/svc-*.log; do
		echo "--- $(basename "$f"): errors"
		grep -i '"level":"\(error\|fatal\)"' "$f" | tail -8
	done
	exit 1
fi
echo "all passed"
