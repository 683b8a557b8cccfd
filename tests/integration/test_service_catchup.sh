#!/usr/bin/env bash
# integration.service.catchup: the runtime's catch-up sweep through the
# real cronfleet-clock (on virtual time) and cronfleet-testsvc on the
# real PostgreSQL:
#   - the service is down while the clock fires: on start, its sweep
#     applies each job's misfire policy (once, all, skip) to the fires it
#     missed, with the reasons of docs/guarantees.md;
#   - kill -9 during a run: the run is marked interrupted once its
#     heartbeat is stale and the sweep runs the fire again, which ends
#     with exactly one succeeded attempt and one effect;
#   - fencing: a tick from an older clock epoch is ignored.
# Every wait polls with a generous deadline.
#   usage: test_service_catchup.sh build/bin
set -u
bindir=${1:?usage: test_service_catchup.sh build/bin}
: "${DATABASE_URL:?DATABASE_URL is not set: run through scripts/test}"
: "${REDIS_URL:?REDIS_URL is not set: run through scripts/test}"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/test_service_lib.sh"
svc_setup 4000 catch

# One virtual minute per real second; each job fires every minute.
export CF_TESTSVC_JOBS='mo|* * * * *|misfire=once,window=6m;ma|* * * * *|misfire=all;ms|* * * * *|misfire=skip;long|-|work=4000;cpar|-|work=2000;ckid|-|after=cpar'
export CRONFLEET_TSV_SWEEP=1s
# Every clock this test starts continues one virtual timeline. Without a
# shared anchor a restarted clock would begin again at START, and a manual
# fire it publishes (if the service's subscription is not back yet, so
# the sweep takes it up) would be older than fires that already ran:
# policy once rightly coalesces such a fire instead of running it.
CRONFLEET_CLOCK_ANCHOR=$(date -u +%Y-%m-%dT%H:%M:%SZ)
export CRONFLEET_CLOCK_ANCHOR
start_clock CRONFLEET_CLOCK_START=2030-01-01T00:00:00Z CRONFLEET_CLOCK_RATE=60
start_svc r1 0
wait_registered long || bad "jobs not registered"

live() { [ "$(sql "SELECT count(*) FROM $S.job_runs WHERE job = '$1' AND status = 'succeeded'")" -ge 2 ]; }
for j in mo ma ms; do
	poll 60 live $j || bad "$j: no live runs"
done
ok "live runs of every job"

# ---- down while the clock fires -----------------------------------------
stop_svcs
down=$(sql "SELECT now()")
sleep 8
# Stop the scheduler, so that every fire the service missed is older than
# a sweep period when it starts: the first sweep sees them all.
req "$CRONFLEET_CLOCK_REP" stop | grep -q '"scheduler":"stopped"' || bad "clock: stop refused"
sleep 2
up=$(sql "SELECT now()")
missed_q="SELECT f.fire_id FROM $CRONFLEET_CLOCK_SCHEMA.fires f WHERE f.service = '$NAME' AND f.outcome = 'published'
	AND f.published_at > '$down' AND f.published_at < '$up'"
start_svc r1 0

# settled_all: every fire the service missed has a final row.
settled_all() {
	[ "$(sql "SELECT count(*) FROM ($missed_q) m WHERE NOT EXISTS
		(SELECT 1 FROM $S.job_runs r WHERE r.fire_id = m.fire_id AND r.final)")" = 0 ]
}
poll 60 settled_all || bad "missed fires not all settled"

for j in mo ma ms; do
	n=$(sql "SELECT count(*) FROM ($missed_q) m WHERE m.fire_id LIKE '$j@%'")
	eval "n_$j=$n"
	[ "$n" -ge 6 ] && ok "$j: $n fires published while the service was down" ||
		bad "$j: only $n fires missed"
done
one_row=$(sql "SELECT count(*) FROM ($missed_q) m WHERE (SELECT count(*) FROM $S.job_runs r WHERE r.fire_id = m.fire_id) <> 1")
[ "$one_row" = 0 ] && ok "every missed fire has exactly one row" || bad "$one_row missed fires without exactly one row"

# skip: each missed fire recorded skipped, with the reason.
n=$(sql "SELECT count(*) FROM ($missed_q) m JOIN $S.job_runs r USING (fire_id) WHERE m.fire_id LIKE 'ms@%'
	AND r.status = 'skipped' AND r.error = 'missed (misfire policy skip)'")
[ "$n" = "$n_ms" ] && ok "misfire skip: all $n recorded skipped (misfire policy skip)" || bad "misfire skip: $n of $n_ms"

# all: each missed fire ran once (trigger catchup), in order.
n=$(sql "SELECT count(*) FROM ($missed_q) m JOIN $S.job_runs r USING (fire_id) WHERE m.fire_id LIKE 'ma@%'
	AND r.status = 'succeeded' AND r.trigger = 'catchup'")
[ "$n" = "$n_ma" ] && ok "misfire all: all $n ran (trigger catchup)" || bad "misfire all: $n of $n_ma"
inv=$(sql "SELECT count(*) FROM $S.job_runs a JOIN $S.job_runs b ON a.job = b.job
	WHERE a.job = 'ma' AND a.trigger = 'catchup' AND b.trigger = 'catchup'
	AND a.scheduled_for < b.scheduled_for AND a.started_at > b.started_at")
[ "$inv" = 0 ] && ok "misfire all: caught up in order" || bad "misfire all: $inv pairs out of order"
n=$(sql "SELECT count(*) FROM ($missed_q) m JOIN $S.effects e USING (fire_id) WHERE m.fire_id LIKE 'ma@%'")
[ "$n" = "$n_ma" ] && ok "misfire all: one effect per fire" || bad "misfire all: $n effects for $n_ma fires"

# once: one run, the latest missed fire; the others coalesced into it or
# outside the 6-minute window.
run=$(sql "SELECT string_agg(r.fire_id, ',') FROM ($missed_q) m JOIN $S.job_runs r USING (fire_id) WHERE m.fire_id LIKE 'mo@%'
	AND r.status = 'succeeded'")
latest=$(sql "SELECT max(m.fire_id) FROM ($missed_q) m WHERE m.fire_id LIKE 'mo@%'")
trig=$(sql "SELECT trigger FROM $S.job_runs WHERE fire_id = '$latest'")
[ "$run" = "$latest" ] && [ "$trig" = catchup ] && ok "misfire once: one catch-up run, of the latest fire ($latest)" ||
	bad "misfire once: runs '$run', latest '$latest' ($trig)"
# Counted among the missed fires only: a fire published as the service
# was stopping (before $down) may be settled the same way, but is not one.
nc=$(sql "SELECT count(*) FROM ($missed_q) m JOIN $S.job_runs r USING (fire_id) WHERE r.job = 'mo' AND r.status = 'skipped' AND r.error = 'coalesced into $latest'")
nw=$(sql "SELECT count(*) FROM ($missed_q) m JOIN $S.job_runs r USING (fire_id) WHERE r.job = 'mo' AND r.status = 'skipped' AND r.error = 'missed: outside the catch-up window'")
[ "$nc" -ge 1 ] && [ "$nw" -ge 1 ] && [ $((nc + nw + 1)) = "$n_mo" ] &&
	ok "misfire once: $nc coalesced into it, $nw outside the window" ||
	bad "misfire once: coalesced $nc, outside $nw, of $n_mo"
h=$(req "$R1" "history mo 50")
echo "$h" | grep -q '"status":"skipped","error":"coalesced into ' &&
	ok "history shows the coalesced fires" || bad "history mo: $h"

req "$CRONFLEET_CLOCK_REP" start | grep -q '"scheduler":"running"' || bad "clock: start refused"
mark=$(sql "SELECT value FROM $S.runtime_state WHERE key = 'sweep_after_seq'")
[ "${mark:-0}" -gt 0 ] && ok "the sweep's watermark advanced (seq $mark)" || bad "no watermark"

# ---- kill -9 mid-run ----------------------------------------------------
f=$(trigger long)
wait_status "$f" running
own_kill KILL "$pid_r1"
wait "$pid_r1" 2>/dev/null
svc_pids=()
start_svc r1 0
wait_attempts "$f" 2 final 60
rows=$(sql "SELECT string_agg(attempt || ':' || status || ':' || trigger, ' ' ORDER BY attempt) FROM $S.job_runs WHERE fire_id = '$f'")
[ "$rows" = "1:interrupted:manual 2:succeeded:catchup" ] &&
	ok "kill -9: interrupted, then run again by the sweep ($rows)" || bad "kill -9 rows: $rows"
err=$(sql "SELECT error FROM $S.job_runs WHERE fire_id = '$f' AND attempt = 1")
[[ $err == "interrupted: the process running it stopped"* ]] && ok "kill -9: the reason says so" || bad "kill -9 reason: $err"
[ "$(sql "SELECT count(*) FROM $S.effects WHERE fire_id = '$f'")" = 1 ] &&
	ok "kill -9: exactly one effect" || bad "kill -9: effects $(sql "SELECT count(*) FROM $S.effects WHERE fire_id = '$f'")"

# ---- a chain that outlives its process ----------------------------------
# The parent succeeds while no clock listens, and its process is killed
# before the clock is back: the restarted service's sweep tells the
# clock, and the child runs (at the parent's instant).
c=$(trigger cpar)
wait_status "$c" running
stop_clock
wait_status "$c" succeeded
sleep 1
own_kill KILL "$pid_r1"
wait "$pid_r1" 2>/dev/null
svc_pids=()
[ "$(sql "SELECT chained FROM $S.job_runs WHERE fire_id = '$c'")" = f ] &&
	ok "chain: the success is recorded as not yet told" || bad "chain: chained is not false"
start_clock CRONFLEET_CLOCK_START=2030-01-01T00:00:00Z CRONFLEET_CLOCK_RATE=60
start_svc r1 0
kidfire=ckid@${c#cpar@}
wait_settled "$kidfire" 60
row=$(sql "SELECT status || '|' || trigger FROM $S.job_runs WHERE fire_id = '$kidfire'")
[ "$row" = "succeeded|dependency" ] && ok "chain: the child ran after all ($kidfire)" || bad "chain: child row '$row'"
[ "$(sql "SELECT chained FROM $S.job_runs WHERE fire_id = '$c'")" = t ] &&
	ok "chain: the success is now recorded as told" || bad "chain: chained not set"

# ---- a new leader, then fencing -----------------------------------------
# The clock is restarted (a new leader, epoch + 1): the service follows
# the new epoch, and then ignores a tick that carries an older one.
e1=$(req "$CRONFLEET_CLOCK_REP" status | sed -n 's/.*"epoch":\([0-9]*\).*/\1/p')
stop_clock
start_clock CRONFLEET_CLOCK_START=2030-01-01T00:00:00Z CRONFLEET_CLOCK_RATE=60
e2=$(req "$CRONFLEET_CLOCK_REP" status | sed -n 's/.*"epoch":\([0-9]*\).*/\1/p')
[ "${e2:-0}" -gt "${e1:-0}" ] && ok "a new leader has a newer epoch ($e1 -> $e2)" || bad "epochs $e1 -> $e2"
epoch_seen() { req "$R1" status | grep -q "\"clock_epoch\":$e2"; }
poll 30 epoch_seen && ok "the service follows the new epoch" || bad "service epoch: $(req "$R1" status)"
g=$(trigger long)
wait_settled "$g" 30
[ "$(sql "SELECT status FROM $S.job_runs WHERE fire_id = '$g'")" = succeeded ] &&
	ok "ticks of the new epoch run" || bad "new-epoch tick not run"

# tick_file <file> <job> <fire_id> <scheduled_ms> <epoch>: a tick as the
# clock publishes it (cf_proto_tick_encode): topic, space, msgpack map.
tick_file() {
	local out=$1 job=$2 fid=$3 at=$4 epoch=$5 hex b
	{
		printf 'tick.%s.%s ' "$NAME" "$job"
		printf '\x86'
		printf '\xa3job'; printf "\\x$(printf %02x $((0xa0 + ${#job})))"; printf '%s' "$job"
		printf '\xa7fire_id'; printf "\\x$(printf %02x $((0xa0 + ${#fid})))"; printf '%s' "$fid"
		printf '\xadscheduled_for\xd3'
		hex=$(printf %016x "$at")
		for b in 0 2 4 6 8 10 12 14; do printf "\\x${hex:$b:2}"; done
		printf '\xa7trigger\xa6manual'
		printf '\xa7attempt\x01'
		printf '\xa5epoch\xcf'
		hex=$(printf %016x "$epoch")
		for b in 0 2 4 6 8 10 12 14; do printf "\\x${hex:$b:2}"; done
	} >"$out"
}
# With the clock stopped, a stand-in publishes on its address: first a
# tick of an older epoch (ignored), then one of a newer epoch (run).
stop_clock
old_at=1893500000000
old_fid="long@2030-01-01T12:13:20Z"
new_fid="long@2030-01-01T12:13:21Z"
tick_file "$T/old.tick" long "$old_fid" $old_at 1
tick_file "$T/new.tick" long "$new_fid" $((old_at + 1000)) 999
timeout 20 nngcat --pub --listen "$CRONFLEET_CLOCK_PUB" --file "$T/old.tick" --count 12 --interval 1 >/dev/null 2>&1
fenced() { grep -q '"msg":"tick from an older clock epoch ignored (fencing)","fire_id":"'"$old_fid"'"' "$T/r1.log"; }
fenced && ok "fencing: a tick of an older epoch is ignored" || bad "fencing: no log of the stale tick"
[ "$(sql "SELECT count(*) FROM $S.job_runs WHERE fire_id = '$old_fid'")" = 0 ] &&
	ok "fencing: the stale tick ran nothing" || bad "fencing: the stale tick ran"
timeout 20 nngcat --pub --listen "$CRONFLEET_CLOCK_PUB" --file "$T/new.tick" --count 12 --interval 1 >/dev/null 2>&1 &
pids+=($!)
wait_settled "$new_fid" 30
[ "$(sql "SELECT status FROM $S.job_runs WHERE fire_id = '$new_fid'")" = succeeded ] &&
	ok "fencing: a tick of a newer epoch runs" || bad "fencing: the newer tick did not run"

stop_svcs
noeff=$(sql "SELECT count(*) FROM $S.job_runs r WHERE r.status = 'succeeded' AND NOT EXISTS (SELECT 1 FROM $S.effects e WHERE e.run_id = r.run_id)")
[ "$noeff" = 0 ] && ok "every succeeded run did its effect" || bad "$noeff succeeded runs without effect"
twice=$(sql "SELECT count(*) FROM (SELECT fire_id FROM $S.job_runs WHERE status = 'succeeded' GROUP BY fire_id HAVING count(*) > 1) x")
[ "$twice" = 0 ] && ok "no fire succeeded twice" || bad "$twice fires succeeded twice"

svc_finish
