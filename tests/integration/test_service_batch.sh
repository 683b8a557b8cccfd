#!/usr/bin/env bash
# integration.service.batch: ticks of an overlap-skip job that wait
# together for a worker are claimed in one claim_runs (db/runtime/004),
# each decided as claim_run would one after another. One replica with one
# worker: while a first run takes 3 s, six more fires of the job queue up
# behind it; when the worker is free it takes all six, the first of them
# runs and the other five are recorded skipped, naming that run. (Claimed
# one at a time, all six would run, one after another.)
# Then a replica with four workers: a burst of 40 fires (one `trigger sl
# 40`) while a run of the job is in progress here; the claim that takes
# them waits a little for more (ready_linger) and all 40 are recorded
# skipped naming that run, each with its event.
#   usage: test_service_batch.sh build/bin
set -u
bindir=${1:?usage: test_service_batch.sh build/bin}
: "${DATABASE_URL:?DATABASE_URL is not set: run through scripts/test}"
: "${REDIS_URL:?REDIS_URL is not set: run through scripts/test}"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/test_service_lib.sh"
svc_setup 9750 batch 25

# skipped_naming <run_id> <fire>...: how many of the fires are recorded
# skipped because that run was in progress.
skipped_naming() {
	local run=$1 ids
	shift
	ids=$(printf "'%s'," "$@")
	sql "SELECT count(*) FROM $S.job_runs WHERE fire_id IN (${ids%,}) AND status = 'skipped' AND error = 'overlap: run $run in progress'"
}

export CF_TESTSVC_JOBS='sb|-|work=3000;sl|-|work=3000'
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
n=$(skipped_naming "$run2" "${fids[@]:1}")
[ "$n" = 5 ] && ok "the other five skipped, naming the run that took the worker" ||
	bad "skipped naming $run2: $n of 5 ($(sql "SELECT string_agg(status || ' ' || coalesce(error, ''), '; ') FROM $S.job_runs WHERE job = 'sb'"))"
[ "$(sql "SELECT count(*) FROM $S.effects WHERE job = 'sb'")" = 2 ] &&
	ok "two effects: only the two runs did work" || bad "effects: $(sql "SELECT count(*) FROM $S.effects WHERE job = 'sb'")"
# The skipped fires were published as events too.
poll 10 sh -c "[ \$(grep -c 'event.tsv.sb.skipped' '$T/events') -ge 5 ]" &&
	ok "five skipped events published" || bad "skipped events: $(grep -c 'event.tsv.sb.skipped' "$T/events")"
grep -q "claim_runs" "$T/r1.log" && bad "an error mentioning claim_runs in the log" || ok "no claim error logged"

# claim_runs by itself (rolled back): a fire twice in one batch and a
# fire already recorded are duplicates, as claim_run one after another
# would find them; arrays of different lengths are refused.
got=$(psql -qtAX "$DATABASE_URL" <<SQL 2>&1
BEGIN;
SELECT string_agg(i || ':' || outcome, ' ' ORDER BY i) FROM $S.claim_runs(
    array['c1', 'c2', 'c3', 'c4', 'c5'], 'zz',
    array['zz@1', 'zz@2', 'zz@1', '${fids[1]}', 'zz@3'],
    array['manual', 'manual', 'manual', 'manual', 'manual'],
    array[1, 1, 1, 1, 1], array[0, 0, 0, 0, 0]::bigint[], 'me', 'skip', 5000);
SELECT string_agg(i || ':' || outcome, ' ' ORDER BY i) FROM $S.claim_runs(
    array['d1', 'd2'], 'sb', array['${fids[1]}', 'sb@new'],
    array['manual', 'manual'], array[1, 1], array[0, 0]::bigint[], 'me', 'skip', 5000);
ROLLBACK;
SQL
)
# zz: c1 runs, c2 skipped (c1 in progress), c3 the same fire as c1, c4 a
# fire of another job (a new fire for zz: skipped), c5 skipped. sb: its
# recorded fire is a duplicate, a new one runs (nothing of sb running).
[ "$got" = "$(printf '%s\n' '1:run 2:skipped 3:duplicate 4:skipped 5:skipped' '1:duplicate 2:run')" ] &&
	ok "claim_runs: duplicates within the batch and already recorded; skip after the first run" ||
	bad "claim_runs outcomes: $got"
err=$(sql "SELECT * FROM $S.claim_runs(array['e1'], 'zz', array['zz@1', 'zz@2'], array['manual'], array[1], array[0]::bigint[], 'me', 'skip', 5000)")
grep -q "arrays of different lengths" <<<"$err" && ok "claim_runs refuses arrays of different lengths" || bad "claim_runs lengths: $err"

stop_svcs

# A burst while a run is in progress, on four workers.
svc_pids=()
start_svc r2 1 CRONFLEET_TSV_WORKERS=4
wait_registered sl || bad "sl not registered with the clock"
f1=$(trigger sl)
wait_status "$f1" running
run1=$(sql "SELECT run_id FROM $S.job_runs WHERE fire_id = '$f1'")
burst=$(req "$CRONFLEET_CLOCK_REP" "trigger sl 40" | grep -o '"fire_id":"[^"]*"' | cut -d'"' -f4 | sort -u)
[ "$(wc -l <<<"$burst")" = 40 ] && ok "40 fires triggered in one call" ||
	bad "trigger sl 40: $(wc -l <<<"$burst") fires"
[ "$(sql "SELECT status FROM $S.job_runs WHERE fire_id = '$f1'")" = running ] &&
	ok "the burst arrived while the first run is in progress" ||
	bad "the first run ended before the burst (the test's premise)"
for f in $burst; do wait_settled "$f" 30; done
# shellcheck disable=SC2086
n=$(skipped_naming "$run1" $burst)
[ "$n" = 40 ] && ok "all 40 skipped, naming the run in progress" ||
	bad "skipped naming $run1: $n of 40 ($(sql "SELECT string_agg(DISTINCT status || ' ' || coalesce(error, ''), '; ') FROM $S.job_runs WHERE job = 'sl'"))"
wait_settled "$f1" 30
[ "$(sql "SELECT count(*) FROM $S.effects WHERE job = 'sl'")" = 1 ] &&
	ok "one effect: only the first run did work" || bad "effects of sl: $(sql "SELECT count(*) FROM $S.effects WHERE job = 'sl'")"
poll 10 sh -c "[ \$(grep -c 'event.tsv.sl.skipped' '$T/events') -ge 40 ]" &&
	ok "40 skipped events published" || bad "skipped events of sl: $(grep -c 'event.tsv.sl.skipped' "$T/events")"
# Each claim_runs is one transaction: its skipped rows share now().
echo "info the 40 were claimed in $(sql "SELECT count(DISTINCT finished_at) FROM $S.job_runs WHERE job = 'sl' AND status = 'skipped'") statement(s)"
stop_svcs
svc_finish
