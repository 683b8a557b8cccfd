#!/usr/bin/env bash
# integration.service.batch: ticks of an overlap-skip job that wait
# together for a worker are claimed in one claim_runs (db/runtime/004),
# each decided as claim_run would one after another. One replica with one
# worker: while a first run takes 3 s, six more fires of the job queue up
# behind it; when the worker is free it takes all six, the first of them
# runs and the other five are recorded skipped, naming that run. (Claimed
# one at a time, all six would run, one after another.)
#   usage: test_service_batch.sh build/bin
set -u
bindir=${1:?usage: test_service_batch.sh build/bin}
: "${DATABASE_URL:?DATABASE_URL is not set: run through scripts/test}"
: "${REDIS_URL:?REDIS_URL is not set: run through scripts/test}"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/test_service_lib.sh"
svc_setup 9750 batch 25

export CF_TESTSVC_JOBS='sb|-|work=3000'
start_clock
start_svc r1 0 CRONFLEET_TSV_WORKERS=1
wait_registered sb || bad "sb not registered with the clock"

f1=$(trigger sb)
wait_status "$f1" running
fids=()
for _ in $(seq 6); do
	fids+=("$(trigger sb)")
done
# Still running: the six arrived while the first run held the worker.
[ "$(sql "SELECT status FROM $S.job_runs WHERE fire_id = '$f1'")" = running ] &&
	ok "six fires triggered while the first run is in progress" ||
	bad "the first run ended before the six were triggered (the test's premise)"
for f in "$f1" "${fids[@]}"; do wait_settled "$f" 60; done

[ "$(sql "SELECT status FROM $S.job_runs WHERE fire_id = '$f1'")" = succeeded ] &&
	ok "the first run succeeded" || bad "first run: $(sql "SELECT status FROM $S.job_runs WHERE fire_id = '$f1'")"
rows=$(sql "SELECT count(*) FROM $S.job_runs WHERE job = 'sb'")
[ "$rows" = 7 ] && ok "one row per fire (7)" || bad "rows for sb: $rows"
run2=$(sql "SELECT run_id FROM $S.job_runs WHERE fire_id = '${fids[0]}' AND status = 'succeeded'")
[ -n "$run2" ] && ok "the first of the six ran ($run2)" ||
	bad "the first of the six: $(sql "SELECT status || ' ' || coalesce(error, '') FROM $S.job_runs WHERE fire_id = '${fids[0]}'")"
n=0
for f in "${fids[@]:1}"; do
	[ "$(sql "SELECT status || '|' || error FROM $S.job_runs WHERE fire_id = '$f'")" = "skipped|overlap: run $run2 in progress" ] &&
		n=$((n + 1))
done
[ $n = 5 ] && ok "the other five skipped, naming the run that took the worker" ||
	bad "skipped naming $run2: $n of 5 ($(sql "SELECT string_agg(status || ' ' || coalesce(error, ''), '; ') FROM $S.job_runs WHERE job = 'sb'"))"
[ "$(sql "SELECT count(*) FROM $S.effects WHERE job = 'sb'")" = 2 ] &&
	ok "two effects: only the two runs did work" || bad "effects: $(sql "SELECT count(*) FROM $S.effects WHERE job = 'sb'")"
# The skipped fires were published as events too.
poll 10 sh -c "[ \$(grep -c 'event.tsv.sb.skipped' '$T/events') -ge 5 ]" &&
	ok "five skipped events published" || bad "skipped events: $(grep -c 'event.tsv.sb.skipped' "$T/events")"
grep -q "claim_runs" "$T/r1.log" && bad "an error mentioning claim_runs in the log" || ok "no claim error logged"

stop_svcs
svc_finish
