# tests/fault/checks.sh - the fault suite's scenario (the job mix) and what
# must hold afterwards, as SQL over the clock's ledger and the service's
# tables (docs/guarantees.md). Sourced by fault_suite.sh; kept apart so the
# checks can be run against any database the suite's jobs ran in:
#   . tests/fault/lib.sh; . tests/fault/checks.sh
#   L=clock.fires R=<schema>.job_runs E=<schema>.effects fails=0 \
#   vready_s=<unix s> vstop_s=<unix s> clock_killed=<n>; fault_sql_checks
# Each check is a query listing the offending rows: none = ok.

# The jobs (tests/support/testsvc.c: name|schedule|key=val,...). Work is
# real milliseconds; durations are real time, schedules virtual.
declare -A step_s=(      # fixed-interval jobs (UTC): seconds between fires
	[f-all]=900 [f-once]=3600 [f-skip]=1800 [f-retry]=1200 [f-perm]=7200
	[f-timeout]=21600 [f-queue]=600)
declare -A retries=(
	[f-all]=2 [f-once]=2 [f-skip]=1 [f-retry]=3 [f-perm]=2 [f-timeout]=1
	[f-queue]=1 [f-child]=2 [f-dst]=2)
jobs=(
	"f-all|*/15 * * * *|misfire=all,window=30d,overlap=allow,retries=2,retry_base=50,work=20"
	"f-once|0 * * * *|misfire=once,window=6h,retries=2,retry_base=50,work=30"
	"f-skip|*/30 * * * *|misfire=skip,retries=1,retry_base=50,work=10"
	"f-retry|*/20 * * * *|misfire=all,window=30d,overlap=allow,failp=0.5,retries=3,retry_base=50,work=10"
	"f-child|-|after=f-retry,misfire=all,window=30d,overlap=allow,retries=2,retry_base=50,work=10"
	"f-perm|0 */2 * * *|failp=1,permanent=1,retries=2,retry_base=50,work=5"
	"f-timeout|0 */6 * * *|timeout=150,retries=1,retry_base=50,work=2000"
	"f-queue|*/10 * * * *|overlap=queue_one,retries=1,retry_base=50,work=80"
	"f-dst|30 2 * * *|tz=Europe/Berlin,misfire=all,window=30d,overlap=allow,retries=2,retry_base=50,work=10"
)
all_jobs="'f-all','f-dst','f-child'"   # `all`, no injected failure: one success each

ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

# check <name> <query>: the query lists offending rows; none = ok.
check() {
	local out
	if ! out=$(psql -X -q -v ON_ERROR_STOP=1 -P pager=off -P footer=off "$DATABASE_URL" -c "$2" 2>&1); then
		bad "$1: query failed: $out"
		return
	fi
	if [ "$(wc -l <<<"$out")" -le 2 ]; then   # header and rule only
		ok "$1"
	else
		bad "$1; offending rows:"
		head -25 <<<"$out" | sed 's/^/     /'
	fi
}

# fault_sql_checks: every check below; uses L, R, E (tables), vready_s and
# vstop_s (virtual unix seconds at registration and at the stop) and
# clock_killed (leader kills); counts failures in fails.
fault_sql_checks() {
	check "every published fire of an all-policy job has exactly one succeeded run" "
SELECT f.job, f.fire_id, f.trigger,
       count(r.run_id) FILTER (WHERE r.status = 'succeeded') AS succeeded,
       string_agg(r.attempt || ':' || r.status, ' ' ORDER BY r.attempt) AS attempts
FROM $L f LEFT JOIN $R r ON r.job = f.job AND r.fire_id = f.fire_id
WHERE f.outcome = 'published' AND f.job IN ($all_jobs)
GROUP BY 1, 2, 3
HAVING count(r.run_id) FILTER (WHERE r.status = 'succeeded') <> 1
ORDER BY 2 LIMIT 20"

	check "no fire has two succeeded runs" "
SELECT job, fire_id, count(*) AS succeeded, string_agg(run_id, ' ') AS runs
FROM $R WHERE status = 'succeeded' GROUP BY 1, 2 HAVING count(*) > 1 LIMIT 20"

	check "no attempt after a succeeded or skipped one" "
SELECT r.job, r.fire_id, r.attempt, r.status, s.attempt AS settled_attempt, s.status AS settled_status
FROM $R r JOIN $R s ON s.job = r.job AND s.fire_id = r.fire_id
  AND s.status IN ('succeeded', 'skipped') AND r.attempt > s.attempt
LIMIT 20"

	# Attempts of one fire follow each other: two that overlap in time would
	# be the fire running twice. (An interrupted attempt is left out: its
	# process was killed, and the sweep records it only afterwards.)
	check "attempts of one fire never overlap in time (no fire runs twice at once)" "
SELECT a.job, a.fire_id, a.attempt, a.status, a.started_at, a.finished_at,
       b.attempt AS other_attempt, b.status AS other_status, b.started_at AS other_started
FROM $R a JOIN $R b ON b.job = a.job AND b.fire_id = a.fire_id AND b.attempt > a.attempt
WHERE a.status NOT IN ('skipped', 'interrupted') AND b.status NOT IN ('skipped', 'interrupted')
  AND b.started_at < coalesce(a.finished_at, 'infinity')
  AND a.started_at < coalesce(b.finished_at, 'infinity')
LIMIT 20"

	# A fire skipped for overlap names the run in progress: it must exist,
	# be of the same job, and have started before the skip and not ended.
	# (finished_at is the start of the transaction that ended the run, which
	# may have started just before the skip's and committed after it: 2 s of
	# slack for that.)
	check "an overlap skip names a run of that job in progress at the time" "
SELECT s.job, s.fire_id, s.started_at AS skipped_at, s.error, o.job AS other_job,
       o.status AS other_status, o.started_at AS other_started, o.finished_at AS other_finished
FROM $R s LEFT JOIN $R o ON o.run_id = substring(s.error FROM '^overlap: run (\\S+) in progress')
WHERE s.status = 'skipped' AND s.error LIKE 'overlap: run % in progress'
  AND (o.run_id IS NULL OR o.job <> s.job OR o.started_at > s.started_at
       OR o.finished_at < s.started_at - interval '2 s')
LIMIT 20"

	check "every ledger entry is published or skipped with a reason" "
SELECT job, fire_id, outcome, reason FROM $L
WHERE outcome IS DISTINCT FROM 'published'
  AND (outcome IS DISTINCT FROM 'skipped' OR coalesce(btrim(reason), '') = '')
LIMIT 20"

	check "every published fire is settled (a succeeded or skipped run, or a final failure)" "
SELECT f.job, f.fire_id, f.trigger, f.epoch,
       string_agg(r.attempt || ':' || r.status || CASE WHEN r.final THEN '(final)' ELSE '' END,
                  ' ' ORDER BY r.attempt) AS attempts
FROM $L f LEFT JOIN $R r ON r.job = f.job AND r.fire_id = f.fire_id
WHERE f.outcome = 'published' AND f.service = 'testsvc'
GROUP BY 1, 2, 3, 4
HAVING NOT bool_or(coalesce(r.status IN ('succeeded', 'skipped')
                            OR (r.status IN ('failed', 'timed_out') AND r.final), false))
ORDER BY 2 LIMIT 20"

	check "every run belongs to a published fire of the ledger" "
SELECT r.job, r.fire_id, r.attempt, r.status, f.outcome
FROM $R r LEFT JOIN $L f ON f.job = r.job AND f.fire_id = r.fire_id
WHERE f.outcome IS DISTINCT FROM 'published' LIMIT 20"

	check "every skipped run has a reason" "
SELECT job, fire_id, attempt, error FROM $R
WHERE status = 'skipped' AND coalesce(btrim(error), '') = '' LIMIT 20"

	check "every failed or timed-out attempt has an error" "
SELECT job, fire_id, attempt, status, error FROM $R
WHERE status IN ('failed', 'timed_out') AND coalesce(btrim(error), '') = '' LIMIT 20"

	check "no run is left running" "
SELECT job, fire_id, attempt, started_at FROM $R WHERE status = 'running' LIMIT 20"

	check "every succeeded run did its work (effects row)" "
SELECT r.job, r.fire_id, r.attempt, r.run_id FROM $R r
WHERE r.status = 'succeeded' AND NOT EXISTS (SELECT 1 FROM $E e WHERE e.run_id = r.run_id)
LIMIT 20"

	check "all work was done by a run of that fire" "
SELECT e.run_id, e.job, e.fire_id, r.job AS run_job, r.fire_id AS run_fire
FROM $E e LEFT JOIN $R r ON r.run_id = e.run_id
WHERE r.run_id IS NULL OR r.job <> e.job OR r.fire_id <> e.fire_id LIMIT 20"

	# The ledger has every instant of each fixed-interval schedule between
	# its first and last entry, nothing off the schedule, and runs from
	# (about) registration to the stop.
	local spec_rows= retry_rows= epochs j
	for j in "${!step_s[@]}"; do spec_rows+="${spec_rows:+,}('$j', ${step_s[$j]})"; done
	check "the ledger has every scheduled instant of each job, and nothing else" "
WITH spec(job, step) AS (VALUES $spec_rows),
span AS (
  SELECT s.job, s.step, min(f.scheduled_for) AS lo, max(f.scheduled_for) AS hi
  FROM spec s JOIN $L f ON f.job = s.job AND f.trigger NOT IN ('manual', 'dependency')
  GROUP BY 1, 2)
SELECT sp.job, g.t AS missing_instant, NULL AS off_schedule
FROM span sp CROSS JOIN LATERAL generate_series(sp.lo, sp.hi, make_interval(secs => sp.step)) g(t)
WHERE NOT EXISTS (SELECT 1 FROM $L f WHERE f.job = sp.job AND f.scheduled_for = g.t)
UNION ALL
SELECT f.job, NULL, f.scheduled_for FROM $L f JOIN spec s ON s.job = f.job
WHERE f.trigger NOT IN ('manual', 'dependency')
  AND (extract(epoch FROM f.scheduled_for) * 1000)::bigint % (s.step * 1000) <> 0
ORDER BY 1, 2, 3 LIMIT 20"

	check "f-dst: one fire per Berlin day at 02:30 (03:30 on the spring-forward day)" "
WITH span AS (SELECT min(scheduled_for) AS lo, max(scheduled_for) AS hi FROM $L
              WHERE job = 'f-dst' AND trigger NOT IN ('manual', 'dependency')),
want AS (
  SELECT (d::date + time '02:30') AT TIME ZONE 'Europe/Berlin' AS t
  FROM span, generate_series((lo AT TIME ZONE 'Europe/Berlin')::date,
                             (hi AT TIME ZONE 'Europe/Berlin')::date, interval '1 day') d)
SELECT 'missing' AS what, w.t FROM want w
WHERE NOT EXISTS (SELECT 1 FROM $L f WHERE f.job = 'f-dst' AND f.scheduled_for = w.t)
UNION ALL
SELECT 'off schedule', f.scheduled_for FROM $L f
WHERE f.job = 'f-dst' AND f.trigger NOT IN ('manual', 'dependency')
  AND f.scheduled_for NOT IN (SELECT t FROM want)
LIMIT 20"

	if [ "$vstop_s" -gt 0 ]; then
		check "every scheduled job has ledger entries from registration to the stop" "
WITH spec(job, step) AS (VALUES $spec_rows, ('f-dst', 86400 + 3600))
SELECT s.job, min(f.scheduled_for) AS first, max(f.scheduled_for) AS last,
       to_timestamp($vready_s) AS registered, to_timestamp($vstop_s) AS stopped
FROM spec s LEFT JOIN $L f ON f.job = s.job AND f.trigger NOT IN ('manual', 'dependency')
GROUP BY s.job, s.step
HAVING min(f.scheduled_for) IS NULL
    OR min(f.scheduled_for) > to_timestamp($vready_s) + make_interval(secs => s.step + 21600)
    OR max(f.scheduled_for) < to_timestamp($vstop_s) - make_interval(secs => s.step + 21600)
LIMIT 20"
	else
		bad "no virtual time from the clock at the stop"
	fi

	check "misfire skip: f-skip never publishes a late fire or runs one (late ones are skipped)" "
SELECT 'ledger' AS where_, fire_id, trigger, outcome FROM $L
WHERE job = 'f-skip' AND trigger = 'catchup' AND outcome = 'published'
UNION ALL
SELECT 'run', fire_id, trigger, status FROM $R
WHERE job = 'f-skip' AND trigger = 'catchup' AND status <> 'skipped'
LIMIT 20"

	check "misfire once: every 'coalesced into' names a published fire of that job" "
SELECT f.job, f.fire_id, f.reason, c.outcome AS target_outcome
FROM $L f LEFT JOIN $L c ON c.fire_id = substring(f.reason FROM 'coalesced into (\\S+)')
WHERE f.outcome = 'skipped' AND f.reason LIKE 'coalesced into %'
  AND (c.fire_id IS NULL OR c.job <> f.job OR c.outcome <> 'published')
LIMIT 20"

	check "chaining: a succeeded f-retry fire has its f-child fire (trigger dependency), and only those" "
SELECT 'parent succeeded, no child fire' AS what, r.fire_id AS fire, r.scheduled_for
FROM $R r WHERE r.job = 'f-retry' AND r.status = 'succeeded'
  AND NOT EXISTS (SELECT 1 FROM $L c WHERE c.job = 'f-child' AND c.scheduled_for = r.scheduled_for
                    AND c.trigger = 'dependency')
UNION ALL
SELECT 'child fire without a succeeded parent', c.fire_id, c.scheduled_for
FROM $L c WHERE c.job = 'f-child'
  AND NOT EXISTS (SELECT 1 FROM $R r WHERE r.job = 'f-retry' AND r.status = 'succeeded'
                    AND r.scheduled_for = c.scheduled_for)
UNION ALL
SELECT 'child fire not a dependency fire', c.fire_id, c.scheduled_for
FROM $L c WHERE c.job = 'f-child' AND c.trigger <> 'dependency'
LIMIT 20"

	check "chaining: a child run starts after its parent succeeded" "
SELECT c.fire_id, c.attempt, c.started_at AS child_started, p.finished_at AS parent_finished
FROM $R c JOIN $R p ON p.job = 'f-retry' AND p.status = 'succeeded'
  AND p.scheduled_for = c.scheduled_for
WHERE c.job = 'f-child' AND c.started_at < p.finished_at LIMIT 20"

	for j in "${!retries[@]}"; do retry_rows+="${retry_rows:+,}('$j', ${retries[$j]})"; done
	check "retries: at most 1 + retries failed attempts; a final failure only when they are used up (1 if permanent)" "
WITH pol(job, retries) AS (VALUES $retry_rows),
per AS (
  SELECT r.job, r.fire_id, p.retries,
         count(*) FILTER (WHERE r.status IN ('failed', 'timed_out')) AS failures,
         bool_or(r.final AND r.status IN ('failed', 'timed_out')) AS final,
         bool_or(r.status IN ('succeeded', 'skipped')) AS done,
         string_agg(r.attempt || ':' || r.status, ' ' ORDER BY r.attempt) AS attempts
  FROM $R r JOIN pol p ON p.job = r.job GROUP BY 1, 2, 3)
SELECT * FROM per
WHERE failures > retries + 1
   OR (final AND job <> 'f-perm' AND failures <> retries + 1)
   OR (final AND job = 'f-perm' AND failures <> 1)
   OR (final AND done)
LIMIT 20"

	check "permanent failures are not retried (f-perm: one failed attempt per fire)" "
SELECT fire_id, string_agg(attempt || ':' || status, ' ' ORDER BY attempt) AS attempts
FROM $R WHERE job = 'f-perm' GROUP BY 1
HAVING count(*) FILTER (WHERE status = 'failed') > 1
    OR count(*) FILTER (WHERE status = 'succeeded') > 0
LIMIT 20"

	check "timeouts are enforced (f-timeout never succeeds and has timed-out attempts)" "
SELECT 'succeeded' AS what, fire_id FROM $R WHERE job = 'f-timeout' AND status = 'succeeded'
UNION ALL
SELECT 'no timed_out attempt at all', NULL
WHERE NOT EXISTS (SELECT 1 FROM $R WHERE job = 'f-timeout' AND status = 'timed_out')
LIMIT 20"

	# A deposed leader cannot write: by the time a newer epoch has written to
	# the ledger, no older one writes again. (published_at is the writing
	# transaction's start.)
	check "epochs never go back in the ledger" "
WITH e AS (SELECT epoch, min(published_at) AS lo, max(published_at) AS hi FROM $L GROUP BY epoch),
w AS (SELECT epoch, hi, min(lo) OVER (ORDER BY epoch DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS later_lo FROM e)
SELECT epoch, hi AS last_write, later_lo AS first_write_of_a_newer_epoch FROM w
WHERE hi > later_lo LIMIT 20"

	check "every ledger entry carries a leader's epoch (> 0)" "
SELECT job, fire_id, epoch FROM $L WHERE epoch IS NULL OR epoch <= 0 LIMIT 20"

	epochs=$(ft_sql "SELECT count(DISTINCT epoch) FROM $L WHERE outcome = 'published'" 2>/dev/null)
	if [[ ${epochs:-x} =~ ^[0-9]+$ ]] && [ "$epochs" -ge $((clock_killed + 1)) ]; then
		ok "fires published under $epochs epochs (>= $clock_killed kills + 1)"
	else
		bad "fires published under '${epochs:-?}' epochs, expected >= $((clock_killed + 1))"
	fi
}
