#!/usr/bin/env bash
# integration.service.guarantees: the job runtime's guarantees
# (docs/guarantees.md) through the real cronfleet-clock and two replicas
# of cronfleet-testsvc (same name, same schema) on the real PostgreSQL:
# one run per fire, overlap skip / queue_one / allow, timeouts, retries
# with backoff, permanent failures, chaining. Every wait polls with a
# generous deadline; nothing asserts on timing.
#   usage: test_service_guarantees.sh build/bin
set -u
bindir=${1:?usage: test_service_guarantees.sh build/bin}
: "${DATABASE_URL:?DATABASE_URL is not set: run through scripts/test}"
: "${REDIS_URL:?REDIS_URL is not set: run through scripts/test}"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/test_service_lib.sh"
svc_setup 3000 guar

JOBS='one|-|work=300,overlap=allow'
JOBS+=';sk|-|work=3000'
JOBS+=';q1|-|work=2000,overlap=queue_one'
JOBS+=';al|-|work=2000,overlap=allow'
JOBS+=';to|-|work=6000,timeout=500ms,retries=1,retry_base=100ms'
JOBS+=';fl|-|fail=2,retries=2,retry_base=300ms'
JOBS+=';fx|-|fail=9,priority=low,retry_base=100ms'
JOBS+=';pm|-|fail=9,permanent=1,retry_base=100ms'
JOBS+=';par|-|work=100'
JOBS+=';kid|-|after=par'
JOBS+=';bad|-|fail=9,retries=0'
JOBS+=';kid2|-|after=bad'
JOBS+=';flaky|-|fail=1,retry_base=100ms'
JOBS+=';kid3|-|after=flaky'
export CF_TESTSVC_JOBS=$JOBS

start_clock
start_svc r1 0
start_svc r2 1
wait_registered kid3 || bad "jobs not registered with the clock"

# ---- one run per fire, one effect, across two replicas ------------------
fids=()
for _ in $(seq 8); do
	fids+=("$(trigger one)")
done
for f in "${fids[@]}"; do wait_settled "$f"; done
n_ok=0
for f in "${fids[@]}"; do
	[ "$(sql "SELECT count(*) FROM $S.job_runs WHERE fire_id = '$f'")" = 1 ] &&
		[ "$(sql "SELECT count(*) FROM $S.job_runs WHERE fire_id = '$f' AND status = 'succeeded'")" = 1 ] &&
		[ "$(sql "SELECT count(*) FROM $S.effects WHERE fire_id = '$f'")" = 1 ] &&
		n_ok=$((n_ok + 1))
done
[ $n_ok -eq 8 ] && ok "two replicas, 8 fires: one run and one effect each" ||
	bad "only $n_ok of 8 fires had exactly one run and one effect"
owners=$(sql "SELECT count(DISTINCT owner) FROM $S.job_runs WHERE job = 'one'")
[ "$owners" -ge 1 ] && ok "runs owned by $owners replica(s)" || bad "no owner recorded"

# ---- overlap skip --------------------------------------------------------
f1=$(trigger sk)
wait_status "$f1" running
f2=$(trigger sk)
wait_settled "$f2"
wait_settled "$f1"
row2=$(sql "SELECT status || '|' || error FROM $S.job_runs WHERE fire_id = '$f2'")
run1=$(sql "SELECT run_id FROM $S.job_runs WHERE fire_id = '$f1'")
[ "$row2" = "skipped|overlap: run $run1 in progress" ] &&
	ok "overlap skip: the second fire recorded skipped with the running run" ||
	bad "overlap skip: second fire row '$row2' (first run $run1)"
[ "$(sql "SELECT status FROM $S.job_runs WHERE fire_id = '$f1'")" = succeeded ] &&
	ok "overlap skip: the first run succeeded" || bad "overlap skip: first run not succeeded"
[ "$(sql "SELECT count(*) FROM $S.effects WHERE job = 'sk'")" = 1 ] &&
	ok "overlap skip: one effect" || bad "overlap skip: effects wrong"

# ---- overlap queue_one ---------------------------------------------------
g1=$(trigger q1)
wait_status "$g1" running
g2=$(trigger q1)
g3=$(trigger q1)
for f in "$g1" "$g2" "$g3"; do wait_settled "$f" 60; done
st="$(sql "SELECT string_agg(status, ',' ORDER BY scheduled_for) FROM $S.job_runs WHERE job = 'q1'")"
nq=$(sql "SELECT count(*) FROM $S.job_runs WHERE job = 'q1' AND status = 'skipped' AND error = 'overlap: one fire already queued'")
ns=$(sql "SELECT count(*) FROM $S.job_runs WHERE job = 'q1' AND status = 'succeeded'")
[ "$nq" = 1 ] && [ "$ns" = 2 ] &&
	ok "queue_one: two runs, the third fire skipped 'one fire already queued' ($st)" ||
	bad "queue_one: statuses $st"
# The queued run started after the first ended: no two runs of q1 at once.
ov=$(sql "SELECT count(*) FROM $S.job_runs a JOIN $S.job_runs b ON a.job = b.job AND a.run_id < b.run_id
	WHERE a.job = 'q1' AND a.status = 'succeeded' AND b.status = 'succeeded'
	AND a.started_at < b.finished_at AND b.started_at < a.finished_at")
[ "$ov" = 0 ] && ok "queue_one: the queued run waited for the first" || bad "queue_one: runs overlapped"

# ---- overlap allow -------------------------------------------------------
h1=$(trigger al)
wait_status "$h1" running
h2=$(trigger al)
wait_settled "$h1"
wait_settled "$h2"
ov=$(sql "SELECT count(*) FROM $S.job_runs a JOIN $S.job_runs b ON a.job = b.job AND a.run_id < b.run_id
	WHERE a.job = 'al' AND a.status = 'succeeded' AND b.status = 'succeeded'
	AND a.started_at < b.finished_at AND b.started_at < a.finished_at")
[ "$ov" = 1 ] && ok "allow: the two runs overlapped, both succeeded" ||
	bad "allow: overlapping succeeded pairs: $ov ($(sql "SELECT string_agg(status, ',') FROM $S.job_runs WHERE job = 'al'"))"

# ---- timeout, then retry -------------------------------------------------
t1=$(trigger to)
wait_attempts "$t1" 2 final 60
rows=$(sql "SELECT string_agg(attempt || ':' || status || ':' || final || ':' || error, ' ' ORDER BY attempt) FROM $S.job_runs WHERE fire_id = '$t1'")
[ "$rows" = "1:timed_out:false:timed out after 500 ms 2:timed_out:true:timed out after 500 ms" ] &&
	ok "timeout: timed_out, retried, the last attempt final" || bad "timeout rows: $rows"
# Recorded at once, not when the 6 s job came back.
d=$(sql "SELECT round(extract(epoch FROM finished_at - started_at)) FROM $S.job_runs WHERE fire_id = '$t1' AND attempt = 1")
[ "${d:-9}" -lt 4 ] && ok "timeout: recorded ~${d}s after start (the job took 6 s)" || bad "timeout recorded after ${d}s"
[ "$(sql "SELECT count(*) FROM $S.effects WHERE job = 'to'")" = 0 ] &&
	ok "timeout: the cancelled job did no effect" || bad "timeout: an effect was recorded"
grep -q "event.$NAME.to.timed_out" "$T/events" && grep -q "event.$NAME.to.retrying" "$T/events" &&
	ok "timeout: timed_out and retrying events" || bad "timeout: events missing"

# ---- retries with backoff ------------------------------------------------
r1=$(trigger fl)
wait_attempts "$r1" 3 final 60
rows=$(sql "SELECT string_agg(attempt || ':' || status || ':' || final, ' ' ORDER BY attempt) FROM $S.job_runs WHERE fire_id = '$r1'")
[ "$rows" = "1:failed:false 2:failed:false 3:succeeded:true" ] &&
	ok "retries: two failures then success ($rows)" || bad "retries rows: $rows"
errs=$(sql "SELECT count(*) FROM $S.job_runs WHERE fire_id = '$r1' AND status = 'failed' AND error LIKE 'testsvc: planned failure of attempt %' AND next_attempt_at IS NOT NULL")
[ "$errs" = 2 ] && ok "retries: each failed attempt has its error and next_attempt_at" || bad "retries: $errs failed rows with error and next_attempt_at"
# Each retry started no earlier than its predecessor's next_attempt_at.
early=$(sql "SELECT count(*) FROM $S.job_runs a JOIN $S.job_runs b ON a.fire_id = b.fire_id AND b.attempt = a.attempt + 1
	WHERE a.fire_id = '$r1' AND b.started_at < a.next_attempt_at - interval '50 milliseconds'")
[ "$early" = 0 ] && ok "retries: each retry waited for its backoff" || bad "retries: $early retries started early"
bound=$(sql "SELECT bool_and(a.next_attempt_at - a.finished_at <= interval '1 millisecond' * 300 * 2 ^ (a.attempt - 1) + interval '50 milliseconds')
	FROM $S.job_runs a WHERE a.fire_id = '$r1' AND a.status = 'failed'")
[ "$bound" = t ] && ok "retries: delays within the full-jitter bounds" || bad "retries: a delay over its bound"
[ "$(sql "SELECT count(*) FROM $S.effects WHERE fire_id = '$r1'")" = 1 ] &&
	ok "retries: one effect, from the successful attempt" || bad "retries: effects wrong"

x1=$(trigger fx)
wait_attempts "$x1" 2 final 60
sleep 1
rows=$(sql "SELECT string_agg(attempt || ':' || status || ':' || final, ' ' ORDER BY attempt) FROM $S.job_runs WHERE fire_id = '$x1'")
[ "$rows" = "1:failed:false 2:failed:true" ] &&
	ok "retries: priority low gives 1 retry, the last failure final" || bad "priority low rows: $rows"

p1=$(trigger pm)
wait_attempts "$p1" 1 final 30
sleep 1
rows=$(sql "SELECT string_agg(attempt || ':' || status || ':' || final, ' ' ORDER BY attempt) FROM $S.job_runs WHERE fire_id = '$p1'")
[ "$rows" = "1:failed:true" ] && ok "permanent failure: one attempt, final" || bad "permanent rows: $rows"

# ---- chaining ------------------------------------------------------------
c1=$(trigger par)
at=$(sql "SELECT (extract(epoch FROM scheduled_for) * 1000)::bigint FROM $S.job_runs WHERE fire_id = '$c1'")
kidfire=kid@${c1#par@}
wait_settled "$kidfire" 30
row=$(sql "SELECT status || '|' || trigger || '|' || (extract(epoch FROM scheduled_for) * 1000)::bigint FROM $S.job_runs WHERE fire_id = '$kidfire'")
[ "$row" = "succeeded|dependency|$at" ] && ok "chain: the child ran (dependency, the parent's instant)" ||
	bad "chain: child row '$row' (parent at $at)"
order=$(sql "SELECT (SELECT started_at FROM $S.job_runs WHERE fire_id = '$kidfire') >= (SELECT finished_at FROM $S.job_runs WHERE fire_id = '$c1')")
[ "$order" = t ] && ok "chain: the child started after the parent finished" || bad "chain: child before parent"

b1=$(trigger bad)
wait_attempts "$b1" 1 final 30
sleep 2
[ "$(sql "SELECT count(*) FROM $S.job_runs WHERE job = 'kid2'")" = 0 ] &&
	ok "chain: a failed parent chains nothing" || bad "chain: kid2 ran after a failed parent"

k1=$(trigger flaky)
kid3fire=kid3@${k1#flaky@}
wait_settled "$kid3fire" 30
rows=$(sql "SELECT string_agg(attempt || ':' || status, ' ' ORDER BY attempt) FROM $S.job_runs WHERE fire_id = '$k1'")
n3=$(sql "SELECT count(*) FROM $S.job_runs WHERE job = 'kid3' AND status = 'succeeded'")
[ "$rows" = "1:failed 2:succeeded" ] && [ "$n3" = 1 ] &&
	ok "chain: the child ran once, after the parent's retry succeeded" || bad "chain retry: parent $rows, kid3 runs $n3"

# ---- status, history, jobs ----------------------------------------------
h=$(req "$R1" "history fl 5")
echo "$h" | grep -q '"attempt":3' && echo "$h" | grep -q '"final":false' &&
	echo "$h" | grep -q '"next_attempt_at":"' &&
	ok "history shows attempts, final and next_attempt_at" || bad "history: $h"
h=$(req "$R1" "history sk 5")
echo "$h" | grep -q '"status":"skipped","error":"overlap: run ' &&
	ok "history shows skipped fires with their reason" || bad "history sk: $h"
j=$(req "$R1" "jobs")
echo "$j" | grep -q '"job":"q1".*"policies":{"misfire":"once","catchup_window_ms":3600000,"overlap":"queue_one","timeout_ms":300000,"retries":2' &&
	ok "jobs shows each job's policies" || bad "jobs: $j"
s=$(req "$R1" "status")
echo "$s" | grep -q '"clock_epoch":[1-9]' && echo "$s" | grep -q '"sweep":{' &&
	ok "status shows the clock epoch and the sweep" || bad "status: $s"

# ---- nothing left behind -------------------------------------------------
stop_svcs
left=$(sql "SELECT count(*) FROM $S.job_runs WHERE status = 'running'")
[ "$left" = 0 ] && ok "no run left running after SIGTERM" || bad "$left runs left running"
noeff=$(sql "SELECT count(*) FROM $S.job_runs r WHERE r.status = 'succeeded' AND NOT EXISTS (SELECT 1 FROM $S.effects e WHERE e.run_id = r.run_id)")
[ "$noeff" = 0 ] && ok "every succeeded run did its effect" || bad "$noeff succeeded runs without effect"

svc_finish
