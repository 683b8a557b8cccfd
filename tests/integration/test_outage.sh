#!/usr/bin/env bash
# integration.outage: PostgreSQL and Redis go away under a running fleet
# (docs/guarantees.md, issue 4 item 10). A clock and a cronfleet-testsvc
# on a PostgreSQL and a Redis of the test's own (it stops them), in real
# time:
#   PostgreSQL stopped for 30 s (pg_ctl stop -m fast): every process
#   stays up and answers ping; runs in flight fail with an error that
#   names the database and are retried; after the restart the processes
#   reconnect by themselves, fires go on, and the fires missed during the
#   outage are caught up per misfire policy (all: each published, trigger
#   catchup, and run once; once: one catch-up, the rest skipped
#   "coalesced into" it; skip: each skipped with the reason); no fire is
#   left without a record.
#   The gateway meanwhile: it answers /healthz; a trigger is refused
#   with an error naming the cause (the ledger cannot be written), GET
#   /api/v1/audit says PostgreSQL is away (503); after the restart the
#   audit rows of what was tried during the outage are written.
#   cronfleet-ingest meanwhile: it answers ping; its management commands
#   are refused naming PostgreSQL; afterwards they answer again and an
#   energy-sync fire runs.
#   Redis stopped: the clock's lease falls back to PostgreSQL (status
#   "lease":"postgres"), fires go on, nothing crashes; Redis started again.
# Only bounded waits; no timed assertions.
set -u
bindir=${1:?usage: test_outage.sh path/to/build/bin}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../fault/lib.sh"
outage=${OUTAGE_SECONDS:-30}

for b in cronfleet-clock cronfleet-testsvc cronfleet-gateway cronfleet-ingest; do
	[ -x "$bindir/$b" ] || { echo "FAIL $bindir/$b is missing (build the tests first)"; exit 1; }
done

FT_TMP=$(mktemp -d /tmp/cf-outage.XXXXXX)
chmod 755 "$FT_TMP"
fails=0
finish() {
	local rc=$?
	ft_cleanup
	[ "${OUTAGE_KEEP:-0}" = 1 ] && echo "kept $FT_TMP" || rm -rf "$FT_TMP"
	exit $rc
}
trap finish EXIT
trap 'echo "FAIL internal deadline reached"; exit 1' TERM INT
# End (and clean up) before ctest's TIMEOUT (180 s) kills us.
ft_watchdog "${OUTAGE_DEADLINE:-172}"

ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
logs() {
	for f in "$FT_TMP"/*.log; do echo "--- $(basename "$f")"; tail -15 "$f"; done
}
die() { echo "FAIL $*"; logs; exit 1; }

base=$(ft_port_block 32660 32767 9) || die "no free ports in 32660-32767"
gw=http://127.0.0.1:$((base + 6))
tok=outage-token-$$
clock_rep=tcp://127.0.0.1:$((base + 2))
clock_pub=tcp://127.0.0.1:$((base + 3))
svc_rep=tcp://127.0.0.1:$((base + 4))
svc_pub=tcp://127.0.0.1:$((base + 5))
ing_rep=tcp://127.0.0.1:$((base + 7))
ing_pub=tcp://127.0.0.1:$((base + 8))
ft_pg_init "$base" || exit 1
ft_redis_start $((base + 1)) || die "redis-server did not start"

L=clock.fires
R=outage_svc.job_runs
E=outage_svc.effects
# o-all uses PostgreSQL every second (each attempt writes its effects row
# after 1.5 s of work, so runs are always in flight); o-once and o-skip
# show the other misfire policies.
jobs="o-all|* * * * * *|misfire=all,window=1h,overlap=allow,retries=2,retry_base=1s,work=1500"
jobs+=";o-once|*/5 * * * * *|misfire=once,window=1h,work=10"
jobs+=";o-skip|*/3 * * * * *|misfire=skip,work=10"

ft_spawn clock "$FT_TMP/clock.log" env CRONFLEET_CLOCK_REP="$clock_rep" \
	CRONFLEET_CLOCK_PUB="$clock_pub" CRONFLEET_CLOCK_LEASE=2s \
	DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" "$bindir/cronfleet-clock"
ft_spawn svc "$FT_TMP/svc.log" env CF_TESTSVC_JOBS="$jobs" \
	CRONFLEET_TESTSVC_REP="$svc_rep" CRONFLEET_TESTSVC_PUB="$svc_pub" \
	CRONFLEET_TESTSVC_SCHEMA=outage_svc CRONFLEET_TESTSVC_SWEEP=2s \
	CRONFLEET_CLOCK_REP="$clock_rep" CRONFLEET_CLOCK_PUB="$clock_pub" \
	DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" "$bindir/cronfleet-testsvc"

ft_spawn gateway "$FT_TMP/gateway.log" env CRONFLEET_CLOCK_REP="$clock_rep" \
	CRONFLEET_SERVICES= CRONFLEET_GATEWAY_ADDR=127.0.0.1:$((base + 6)) \
	CRONFLEET_ADMIN_TOKEN="$tok" CRONFLEET_GATEWAY_SCHEMA=outage_gw \
	DATABASE_URL="$DATABASE_URL" "$bindir/cronfleet-gateway"
ft_spawn ingest "$FT_TMP/ingest.log" env CRONFLEET_INGEST_REP="$ing_rep" \
	CRONFLEET_INGEST_PUB="$ing_pub" CRONFLEET_INGEST_SCHEMA=outage_ing \
	CRONFLEET_SECRET_KEY="$(openssl rand -hex 32)" \
	CRONFLEET_JOB_ENERGY_SYNC_RUN_ON_START=false CRONFLEET_JOB_CARBON_SYNC_RUN_ON_START=false \
	CRONFLEET_JOB_PLANT_SYNC_RUN_ON_START=false CRONFLEET_JOB_ORDER_SYNC_RUN_ON_START=false \
	CRONFLEET_JOB_SHIPPING_SYNC_RUN_ON_START=false \
	CRONFLEET_CLOCK_REP="$clock_rep" CRONFLEET_CLOCK_PUB="$clock_pub" \
	DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" "$bindir/cronfleet-ingest"
gw_code() { # <method> <path>: the HTTP status; the body in $FT_TMP/body
	curl -s -m 10 -o "$FT_TMP/body" -w '%{http_code}' -X "$1" \
		-H "Authorization: Bearer $tok" "$gw$2"
}

alive_all() { ft_alive "$clock" && ft_alive "$svc" && ft_alive "$gateway" && ft_alive "$ingest"; }
down=()
watch_alive() { # <phase>: notes (once) a process that went away
	if [ -n "$clock" ] && ! ft_alive "$clock"; then
		down+=("clock gone ($1)"); clock=
	fi
	if [ -n "$svc" ] && ! ft_alive "$svc"; then
		down+=("testsvc gone ($1)"); svc=
	fi
	if [ -n "$gateway" ] && ! ft_alive "$gateway"; then
		down+=("gateway gone ($1)"); gateway=
	fi
	if [ -n "$ingest" ] && ! ft_alive "$ingest"; then
		down+=("ingest gone ($1)"); ingest=
	fi
}
# wait_for <seconds> <sql returning t when done>
wait_for() {
	local i
	for ((i = 0; i < $1 * 2; i++)); do
		watch_alive "${3:-waiting}"
		[ "$(ft_sql "$2" 2>/dev/null)" = t ] && return 0
		sleep 0.5
	done
	return 1
}

for ((i = 0; i < 300; i++)); do
	n=$(ft_req "$clock_rep" jobs 2>/dev/null | grep -o '"job":"o-[a-z]*"' | sort -u | wc -l)
	[ "$n" -eq 3 ] && break
	alive_all || die "a process exited during start"
	sleep 0.1
done
[ "$n" -eq 3 ] && ok "clock and testsvc up, 3 jobs registered" || die "registered: $n of 3 jobs"
wait_for 30 "SELECT count(*) >= 3 FROM $R WHERE job = 'o-all' AND status = 'succeeded'" ||
	die "no o-all runs before the outage"
ok "o-all runs every second"

# --- PostgreSQL outage -------------------------------------------------
t_down=$(ft_sql "SELECT extract(epoch FROM now())::bigint")
ft_say "PostgreSQL: fast stop for ${outage}s"
ft_pg_stop fast
ft_pg_up && die "PostgreSQL still up after pg_ctl stop"
t_gone=$EPOCHSECONDS   # from here until the start below, nothing is recorded
pings=0
for ((s = 0; s < outage; s++)); do
	sleep 1
	watch_alive "PostgreSQL down"
	if [ $s -eq $((outage / 2)) ]; then
		ft_req "$clock_rep" ping | grep -q pong && pings=$((pings + 1))
		ft_req "$svc_rep" ping | grep -q pong && pings=$((pings + 1))
		[ "$(gw_code GET /healthz)" = 200 ] && pings=$((pings + 1))
		ft_req "$ing_rep" ping | grep -q pong && pings=$((pings + 1))
		out=$(ft_req "$ing_rep" 'sources')
		[[ $out == *'"success":false'*'database unavailable'*PostgreSQL* ]] &&
			ok "ingest: a command without PostgreSQL is refused naming it: ${out:0:140}" ||
			bad "ingest: sources without PostgreSQL: ${out:0:200}"
		c=$(gw_code POST /api/v1/scheduler/trigger/o-once)
		case $c in
		5*) grep -q 'could not be recorded' "$FT_TMP/body" &&
			ok "gateway: a trigger without PostgreSQL is refused ($c): $(head -c 160 "$FT_TMP/body")" ||
			bad "gateway: trigger $c without the reason: $(head -c 200 "$FT_TMP/body")" ;;
		*) bad "gateway: trigger without PostgreSQL answered $c: $(head -c 200 "$FT_TMP/body")" ;;
		esac
		c=$(gw_code GET /api/v1/audit)
		[ "$c" = 503 ] && grep -q 'PostgreSQL' "$FT_TMP/body" &&
			ok "gateway: GET /api/v1/audit without PostgreSQL is 503 naming it" ||
			bad "gateway: audit without PostgreSQL: $c $(head -c 200 "$FT_TMP/body")"
	fi
done
[ ${#down[@]} -eq 0 ] && ok "every process stayed up during the outage" || bad "${down[*]}"
[ $pings -eq 4 ] && ok "clock, testsvc, gateway and ingest answer without PostgreSQL" ||
	bad "$pings of 4 processes answered during the outage"
t_back=$EPOCHSECONDS
ft_pg_start || die "PostgreSQL did not start again"
t_up=$(ft_sql "SELECT extract(epoch FROM now())::bigint")
ft_say "PostgreSQL back (down ${t_down}..${t_up})"

# The gateway's audit row of the refused trigger is written once it is back.
wait_for 30 "SELECT EXISTS (SELECT 1 FROM outage_gw.audit WHERE action = 'trigger'
  AND job = 'o-once' AND outcome = 'failed' AND detail LIKE '%could not be recorded%')" "audit" &&
	ok "gateway: the trigger tried during the outage is in the audit" ||
	bad "gateway: no audit row for the trigger tried during the outage"
[ "$(gw_code GET '/api/v1/audit?action=trigger')" = 200 ] && grep -q '"outcome":"failed"' "$FT_TMP/body" &&
	ok "gateway: GET /api/v1/audit answers again" || bad "gateway: audit after the outage: $(head -c 200 "$FT_TMP/body")"

# Ingest reconnects by itself: its commands and a fire work again.
for ((i = 0; i < 60; i++)); do
	ft_req "$ing_rep" 'org-put {"name":"after"}' >/dev/null && break
	sleep 0.5
done
[ $i -lt 60 ] && ok "ingest: commands answer again after the outage" || bad "ingest: org-put still refused"
ft_req "$ing_rep" 'trigger energy-sync' >/dev/null || bad "ingest: trigger energy-sync refused"
wait_for 60 "SELECT EXISTS (SELECT 1 FROM outage_ing.job_runs WHERE job = 'energy-sync' AND status = 'succeeded')" "ingest" &&
	ok "ingest: energy-sync runs after the outage" || bad "ingest: no energy-sync run succeeded after the outage"

# Reconnected: fires after the outage are published and run.
wait_for 60 "SELECT EXISTS (SELECT 1 FROM $R WHERE job = 'o-all' AND status = 'succeeded'
  AND trigger = 'schedule' AND scheduled_for > to_timestamp($t_up + 2))" "after the outage" &&
	ok "reconnected: scheduled runs succeed after the outage" ||
	bad "no scheduled o-all run succeeded within 60 s of the restart"

# Caught up: the ledger has every second of o-all through the outage.
wait_for 45 "SELECT NOT EXISTS (
  SELECT 1 FROM generate_series(to_timestamp($t_down - 2), to_timestamp($t_up + 2), interval '1 s') g(t)
  WHERE NOT EXISTS (SELECT 1 FROM $L f WHERE f.job = 'o-all' AND f.scheduled_for = g.t))" "catch-up" &&
	ok "o-all: every second of the outage is in the ledger" ||
	bad "o-all: seconds missing from the ledger: $(ft_sql "SELECT string_agg(to_char(g.t, 'HH24:MI:SS'), ' ') FROM generate_series(to_timestamp($t_down - 2), to_timestamp($t_up + 2), interval '1 s') g(t) WHERE NOT EXISTS (SELECT 1 FROM $L f WHERE f.job = 'o-all' AND f.scheduled_for = g.t)")"

# Settled: each published fire has a succeeded or skipped run, or a final
# failure; nothing left running.
settled_sql="SELECT NOT EXISTS (
  SELECT 1 FROM $L f WHERE f.outcome = 'published' AND f.scheduled_for < to_timestamp($t_up + 5)
    AND f.job LIKE 'o-%' AND NOT EXISTS (SELECT 1 FROM $R r WHERE r.job = f.job AND r.fire_id = f.fire_id
      AND (r.status IN ('succeeded', 'skipped') OR (r.status IN ('failed', 'timed_out') AND r.final))))
  AND NOT EXISTS (SELECT 1 FROM $R WHERE status = 'running' AND scheduled_for < to_timestamp($t_up))"
wait_for 45 "$settled_sql" "settling" && ok "every fire up to the outage's end is settled" ||
	bad "unsettled fires: $(ft_sql "SELECT string_agg(f.fire_id || '=' || coalesce((SELECT string_agg(r.attempt || ':' || r.status, ',') FROM $R r WHERE r.fire_id = f.fire_id), 'no run'), ' ') FROM $L f WHERE f.outcome = 'published' AND f.scheduled_for < to_timestamp($t_up + 5) AND f.job LIKE 'o-%' AND NOT EXISTS (SELECT 1 FROM $R r WHERE r.job = f.job AND r.fire_id = f.fire_id AND (r.status IN ('succeeded', 'skipped') OR (r.status IN ('failed', 'timed_out') AND r.final)))")"

# Runs in flight when PostgreSQL went away failed with a clear error, and
# were retried.
row=$(ft_sql "SELECT r.fire_id || ' attempt ' || r.attempt || ': ' || r.error FROM $R r
  WHERE r.job = 'o-all' AND r.status IN ('failed', 'timed_out')
    AND r.error ~* '(postgres|database|connection|server|terminat)'
    AND r.scheduled_for BETWEEN to_timestamp($t_down - 5) AND to_timestamp($t_up)
  ORDER BY r.scheduled_for LIMIT 1")
[ -n "$row" ] && ok "a run failed with a clear error: $row" ||
	bad "no o-all attempt failed with a database error around the outage; rows: $(ft_sql "SELECT string_agg(fire_id || ' ' || attempt || ':' || status || ' ' || coalesce(error, ''), E'\n') FROM $R WHERE scheduled_for BETWEEN to_timestamp($t_down - 3) AND to_timestamp($t_down + 1)")"
row=$(ft_sql "SELECT r.fire_id || ': ' || string_agg(a.attempt || ':' || a.status, ' ' ORDER BY a.attempt)
  FROM $R r JOIN $R a ON a.job = r.job AND a.fire_id = r.fire_id
  WHERE r.job = 'o-all' AND r.status = 'failed' AND NOT r.final
    AND r.error ~* '(postgres|database|connection|server|terminat)'
    AND r.scheduled_for BETWEEN to_timestamp($t_down - 5) AND to_timestamp($t_up)
  GROUP BY r.fire_id HAVING max(a.attempt) > min(r.attempt) LIMIT 1")
[ -n "$row" ] && ok "and was retried: $row" || bad "no failed o-all attempt was retried"
for p in clock svc; do
	line=$(grep '"level":"error"' "$FT_TMP/$p.log" | grep -m1 'PostgreSQL')
	[ -n "$line" ] && ok "$p logged the outage: $(cut -c1-160 <<<"$line")" ||
		bad "$p logged no error naming PostgreSQL during the outage"
done

# Per misfire policy.
check() { # <name> <query listing offending rows>
	local out
	out=$(ft_sql "$2" 2>&1)
	[ -z "$out" ] && ok "$1" || { bad "$1:"; head -20 <<<"$out" | sed 's/^/     /'; }
}
check "o-all: outage fires published with trigger catchup, each with exactly one succeeded run" "
SELECT f.fire_id, f.outcome, f.trigger, f.reason,
       (SELECT count(*) FROM $R r WHERE r.fire_id = f.fire_id AND r.status = 'succeeded') AS succeeded
FROM $L f WHERE f.job = 'o-all' AND f.scheduled_for BETWEEN to_timestamp($t_gone + 1) AND to_timestamp($t_back - 2)
  AND (f.outcome <> 'published' OR f.trigger <> 'catchup'
       OR (SELECT count(*) FROM $R r WHERE r.fire_id = f.fire_id AND r.status = 'succeeded') <> 1)"
n=$(ft_sql "SELECT count(*) FROM $R WHERE job = 'o-all' AND trigger = 'catchup' AND status = 'succeeded'")
[ "${n:-0}" -ge $((outage - 6)) ] && ok "o-all: $n catch-up runs" || bad "o-all: only ${n:-0} catch-up runs"

check "o-once: one catch-up for the outage, the other missed fires coalesced into it" "
SELECT 'published catch-ups after the outage' AS what, count(*)::text AS n FROM $L
WHERE job = 'o-once' AND outcome = 'published' AND trigger = 'catchup'
  AND published_at >= to_timestamp($t_back)
HAVING count(*) <> 1
UNION ALL
SELECT 'coalesced', count(*)::text FROM $L
WHERE job = 'o-once' AND outcome = 'skipped' AND reason LIKE 'coalesced into o-once@%'
  AND scheduled_for BETWEEN to_timestamp($t_down) AND to_timestamp($t_up)
HAVING count(*) < 1
UNION ALL
SELECT 'skipped ' || f.fire_id || ' ' || coalesce(f.reason, '(no reason)'), coalesce(c.outcome, 'missing target')
FROM $L f LEFT JOIN $L c ON c.fire_id = substring(f.reason FROM 'coalesced into (\\S+)')
WHERE f.job = 'o-once' AND f.outcome = 'skipped'
  AND (c.fire_id IS NULL OR c.outcome <> 'published')"

check "o-skip: outage fires skipped with the reason, none run late" "
SELECT 'skipped with the reason' AS what, count(*)::text FROM $L
WHERE job = 'o-skip' AND outcome = 'skipped' AND reason = 'missed (misfire policy skip)'
  AND scheduled_for BETWEEN to_timestamp($t_down) AND to_timestamp($t_up)
HAVING count(*) < 1
UNION ALL
SELECT 'late fire published ' || fire_id, trigger FROM $L
WHERE job = 'o-skip' AND outcome = 'published' AND trigger = 'catchup'"

check "every ledger entry is published or skipped with a reason" "
SELECT fire_id, outcome, reason FROM $L
WHERE outcome IS DISTINCT FROM 'published'
  AND (outcome IS DISTINCT FROM 'skipped' OR coalesce(btrim(reason), '') = '')"
check "every skipped run has a reason; no fire has two succeeded runs" "
SELECT fire_id, attempt, 'skipped without reason' FROM $R WHERE status = 'skipped' AND coalesce(btrim(error), '') = ''
UNION ALL
SELECT fire_id, count(*)::int, 'succeeded twice' FROM $R WHERE status = 'succeeded' GROUP BY fire_id HAVING count(*) > 1"
check "every succeeded run did its work" "
SELECT r.fire_id, r.attempt FROM $R r WHERE r.status = 'succeeded'
  AND NOT EXISTS (SELECT 1 FROM $E e WHERE e.run_id = r.run_id)"

# --- Redis outage ------------------------------------------------------
st=$(ft_req "$clock_rep" status)
ft_say "clock before Redis stops: $st"
ft_redis_stop
t_rdown=$(ft_sql "SELECT extract(epoch FROM now())::bigint")
lease=
for ((i = 0; i < 60; i++)); do
	watch_alive "Redis down"
	st=$(ft_req "$clock_rep" status)
	lease=$(ft_json_field "$st" lease)
	[ "$lease" = postgres ] && [[ $st == *'"role":"leader"'* ]] && break
	sleep 0.5
done
[ "$lease" = postgres ] && ok "the lease fell back to PostgreSQL: $st" ||
	bad "lease did not fall back to PostgreSQL in 30 s: $st"
wait_for 30 "SELECT EXISTS (SELECT 1 FROM $R WHERE job = 'o-all' AND status = 'succeeded'
  AND scheduled_for > to_timestamp($t_rdown + 3))" "Redis down" &&
	ok "fires go on without Redis" || bad "no o-all run succeeded in 30 s without Redis"
ft_redis_start "$FT_REDIS_PORT" || die "redis-server did not start again"
t_rup=$(ft_sql "SELECT extract(epoch FROM now())::bigint")
wait_for 30 "SELECT EXISTS (SELECT 1 FROM $R WHERE job = 'o-all' AND status = 'succeeded'
  AND scheduled_for > to_timestamp($t_rup + 3))" "Redis back" &&
	ok "fires go on after Redis is back (lease: $(ft_json_field "$(ft_req "$clock_rep" status)" lease))" ||
	bad "no o-all run succeeded in 30 s after Redis came back"
check "o-all: no second missing from the ledger, nothing published twice" "
WITH s AS (SELECT min(scheduled_for) lo, max(scheduled_for) hi FROM $L WHERE job = 'o-all' AND trigger <> 'manual')
SELECT 'missing', g.t FROM s, generate_series(s.lo, s.hi, interval '1 s') g(t)
WHERE NOT EXISTS (SELECT 1 FROM $L f WHERE f.job = 'o-all' AND f.scheduled_for = g.t)
LIMIT 10"
[ ${#down[@]} -eq 0 ] && alive_all && ok "every process stayed up throughout" ||
	bad "processes went away: ${down[*]}"

echo "--- counts"
psql -X -q -P pager=off "$DATABASE_URL" <<SQL
SELECT job, outcome, trigger, count(*) AS fires FROM $L GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
SELECT job, status, count(*) AS runs, count(*) FILTER (WHERE attempt > 1) AS retries FROM $R GROUP BY 1, 2 ORDER BY 1, 2;
SELECT left(error, 90) AS error, count(*) FROM $R WHERE error IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 8;
SQL
if [ $fails -ne 0 ]; then
	echo "$fails failure(s)"
	logs
	exit 1
fi
echo "all passed"
