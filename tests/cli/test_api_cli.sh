#!/usr/bin/env bash
# cli.api: "cronfleet jobs|status|next|trigger|pause|resume|schedule|
# history|audit|watch|whoami" through the real gateway, the real clock
# and a real service (cronfleet-testsvc as "ingest") on the real
# PostgreSQL (DATABASE_URL, REDIS_URL as for the other integration tests).
# Every command in table and --json form (the JSON read by python3),
# the exit statuses (1 refused, with the server's message; 2 usage; 3 no
# gateway), roles (a viewer token cannot act), the event stream during a
# trigger, and its resumption across a gateway restart.
set -u
bindir=${1:?usage: test_api_cli.sh build/bin}
: "${DATABASE_URL:?DATABASE_URL is not set: run through scripts/test}"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/test_service_lib.sh"
cli=$bindir/cronfleet

# Ten ports from the band 6000-6499, chosen by pid, none in use.
for k in $(seq 0 49); do
	base=$((6000 + ((($$ + k) % 50)) * 10))
	ports_free "$base" $((base + 9)) && break
done
T=$(mktemp -d)
export CRONFLEET_LOG_LEVEL=debug
export CRONFLEET_CLOCK_REP=tcp://127.0.0.1:$base
export CRONFLEET_CLOCK_PUB=tcp://127.0.0.1:$((base + 1))
export CRONFLEET_INGEST_REP=tcp://127.0.0.1:$((base + 2))
export CRONFLEET_INGEST_PUB=tcp://127.0.0.1:$((base + 3))
export CRONFLEET_GATEWAY_ADDR=127.0.0.1:$((base + 4))
export CRONFLEET_CLOCK_SCHEMA=clock_cli_$$
export CRONFLEET_INGEST_SCHEMA=ingest_cli_$$
export CRONFLEET_GATEWAY_SCHEMA=gateway_cli_$$
export CRONFLEET_SERVICES=ingest
admin=adm-$$-$RANDOM$RANDOM
viewer=view-$$-$RANDOM$RANDOM
export CRONFLEET_ADMIN_TOKENS="ops:$admin"
export CRONFLEET_VIEWER_TOKENS="ro:$viewer"
export CF_TESTSVC_NAME=ingest
# report works 300 ms and succeeds; broken always fails, no retry. Their
# schedules do not come due while the test runs.
export CF_TESTSVC_JOBS='report|0 3 * * *|work=300;broken|30 4 * * *|fail=99,retries=0'
export CRONFLEET_URL=http://$CRONFLEET_GATEWAY_ADDR
export CRONFLEET_TOKEN=$admin
gw_pid=

cleanup() {
	local p left
	for p in "${pids[@]}" $gw_pid; do own_kill TERM "$p"; done
	# SIGTERM lets each finish cleanly; one that hangs is killed.
	for _ in $(seq 50); do
		left=0
		for p in "${pids[@]}" $gw_pid; do kill -0 "$p" 2>/dev/null && left=1; done
		[ $left -eq 0 ] && break
		sleep 0.2
	done
	for p in "${pids[@]}" $gw_pid; do own_kill KILL "$p"; done
	wait 2>/dev/null
	psql -q "$DATABASE_URL" -c "DROP SCHEMA IF EXISTS $CRONFLEET_CLOCK_SCHEMA CASCADE; DROP SCHEMA IF EXISTS $CRONFLEET_INGEST_SCHEMA CASCADE; DROP SCHEMA IF EXISTS $CRONFLEET_GATEWAY_SCHEMA CASCADE" >/dev/null 2>&1
	[ -n "${REDIS_URL:-}" ] && redis-cli -u "$REDIS_URL" DEL "cronfleet:clock:leader:$CRONFLEET_CLOCK_SCHEMA" >/dev/null 2>&1
	# CLI_API_KEEP=<dir>: keep every output and log there, to look at.
	[ -n "${CLI_API_KEEP:-}" ] && rm -rf "$CLI_API_KEEP" && cp -r "$T" "$CLI_API_KEEP"
	rm -rf "$T"
}
trap cleanup EXIT

# run <name> <args...>: the CLI; its stdout in $T/<name>.out, stderr in
# $T/<name>.err, exit status in $rc (every output is kept, to look for
# the tokens in at the end).
run() {
	local name=$1
	shift
	"$cli" "$@" >"$T/$name.out" 2>"$T/$name.err"
	rc=$?
}
out() { cat "$T/$1.out"; }
err() { cat "$T/$1.err"; }

# py <name> <python expression on d, the parsed stdout>: prints its value;
# fails (and prints why) if the output is not one JSON document.
py() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if not isinstance(v, str) else v)' "$T/$1.out" "$2" 2>&1
}

# expect_ok <name> <what> : rc 0, stderr empty.
expect_ok() {
	if [ "$rc" -eq 0 ] && [ ! -s "$T/$1.err" ]; then
		ok "$2"
	else
		bad "$2: rc=$rc stderr: $(err "$1") stdout: $(out "$1" | head -5)"
	fi
}

# aligned <name> <header> <row pattern> <cell>: the cell starts where the
# header's column does, in the row matching the pattern (aligned columns).
aligned() {
	awk -v h="$2" -v r="$3" -v c="$4" '
		NR == 1 { hp = index($0, h) }
		NR > 1 && $0 ~ r && !done { cp = index($0, c); done = 1 }
		END { exit !(hp > 0 && hp == cp) }' "$T/$1.out"
}

start_gateway() {
	"$bindir/cronfleet-gateway" 2>>"$T/gateway.log" &
	gw_pid=$!
	poll 30 curl -fs -o /dev/null "$CRONFLEET_URL/healthz" ||
		bad "the gateway does not answer /healthz"
}

# The fleet: clock, ingest (testsvc), gateway.
"$bindir/cronfleet-clock" 2>>"$T/clock.log" &
pids+=($!)
poll 60 clock_leads || bad "the clock does not lead"
"$bindir/cronfleet-testsvc" 2>>"$T/ingest.log" &
pids+=($!)
poll 30 sh -c "nngcat --req --dial $CRONFLEET_INGEST_REP --ascii --data ping 2>/dev/null | grep -q pong" ||
	bad "ingest does not answer"
start_gateway
jobs_listed() { "$cli" jobs --json 2>/dev/null | grep -q '"broken"'; }
poll 60 jobs_listed || bad "the jobs are not listed through the gateway"

# ---- usage and reachability (no request reaches a gateway) ----------
run usage1 trigger
[ $rc -eq 2 ] && [ ! -s "$T/usage1.out" ] && grep -q 'usage: cronfleet trigger <job>' "$T/usage1.err" &&
	ok "trigger without a job: exit 2, usage" || bad "trigger without a job: rc=$rc $(err usage1)"
run usage2 history --limit zero
[ $rc -eq 2 ] && grep -q -- '--limit' "$T/usage2.err" &&
	ok "history --limit zero: exit 2, names the option" || bad "history --limit zero: rc=$rc $(err usage2)"
run usage3 jobs --bogus
[ $rc -eq 2 ] && grep -q "unknown option '--bogus'" "$T/usage3.err" &&
	ok "unknown option: exit 2" || bad "unknown option: rc=$rc $(err usage3)"
CRONFLEET_URL=gopher://x run usage4 jobs
[ $rc -eq 2 ] && grep -q CRONFLEET_URL "$T/usage4.err" &&
	ok "a bad CRONFLEET_URL: exit 2, names the variable" || bad "bad CRONFLEET_URL: rc=$rc $(err usage4)"
dead=http://127.0.0.1:$((base + 9))
for c in jobs status "trigger report" watch; do
	# shellcheck disable=SC2086
	CRONFLEET_URL=$dead run nogw $c
	[ $rc -eq 3 ] && [ ! -s "$T/nogw.out" ] && grep -q "^cronfleet: cannot reach the gateway at $dead" "$T/nogw.err" &&
		ok "no gateway: '$c' exits 3" || bad "no gateway: '$c' rc=$rc $(err nogw)"
done

# ---- whoami ---------------------------------------------------------
run who whoami
expect_ok who "whoami"
[ "$(out who)" = "ops (admin)" ] && ok "whoami: ops (admin)" || bad "whoami: $(out who)"
run whoj whoami --json
[ "$(py whoj 'd["data"]["name"] + "/" + d["data"]["role"]')" = ops/admin ] &&
	ok "whoami --json" || bad "whoami --json: $(out whoj)"
CRONFLEET_TOKEN=$viewer run whov whoami
[ "$(out whov)" = "ro (viewer)" ] && ok "whoami as the viewer" || bad "whoami viewer: $(out whov) $(err whov)"

# ---- jobs -----------------------------------------------------------
run jobs jobs
expect_ok jobs "jobs"
head -1 "$T/jobs.out" | grep -qE '^JOB +SERVICE +SCHEDULE +TZ +STATE +NEXT FIRE +DESCRIPTION$' &&
	ok "jobs: header" || bad "jobs header: $(head -1 "$T/jobs.out")"
grep -qE '^report +ingest +0 3 \* \* \* +.* active +[0-9]{4}-' "$T/jobs.out" &&
	ok "jobs: report's row" || bad "jobs: no row for report: $(out jobs)"
aligned jobs SERVICE '^broken ' ingest && aligned jobs STATE '^report ' active &&
	ok "jobs: columns aligned" || bad "jobs: columns not aligned: $(out jobs)"
[ "$(wc -l <"$T/jobs.out")" -eq 3 ] && ok "jobs: one row per job" || bad "jobs: $(wc -l <"$T/jobs.out") lines"
run jobsj jobs --json
expect_ok jobsj "jobs --json"
[ "$(py jobsj 'sorted(j["job"] for j in d["data"])')" = '["broken", "report"]' ] &&
	ok "jobs --json: the server's jobs" || bad "jobs --json: $(out jobsj | head -c 300)"
[ "$(py jobsj '[j for j in d["data"] if j["job"] == "report"][0]["schedule"]')" = '0 3 * * *' ] &&
	ok "jobs --json: schedule" || bad "jobs --json schedule: $(py jobsj 'd')"

# ---- status ---------------------------------------------------------
run st status
expect_ok st "status"
grep -qE '^scheduler +running' "$T/st.out" && ok "status: scheduler running" || bad "status: $(out st)"
grep -qE '^services +.*ingest ok' "$T/st.out" && ok "status: ingest ok" || bad "status services: $(out st)"
grep -qE '^JOB +SERVICE +STATE +NEXT FIRE +LAST RUN +STATUS +DURATION +ERROR$' "$T/st.out" &&
	grep -qE '^report +ingest +active ' "$T/st.out" && ok "status: job table" || bad "status table: $(out st)"
run stj status --json
expect_ok stj "status --json"
[ "$(py stj 'd["data"]["running"]')" = true ] && [ "$(py stj 'len(d["data"]["jobs"])')" = 2 ] &&
	ok "status --json: running, two jobs" || bad "status --json: $(out stj | head -c 400)"

# ---- next -----------------------------------------------------------
run nx next report --count 3
expect_ok nx "next report"
[ "$(grep -cE '^report +[0-9]{4}-[0-9]{2}-[0-9]{2}T03:00:00' "$T/nx.out")" -eq 3 ] &&
	ok "next report --count 3: three fires at 03:00" || bad "next: $(out nx)"
run nxj next report --count 3 --json
[ "$(py nxj 'len(d["data"]["fires"])')" = 3 ] && ok "next --json: three fires" || bad "next --json: $(out nxj)"
run nxa next --json
[ "$(py nxa 'sorted(j["job"] for j in d["data"])')" = '["broken", "report"]' ] &&
	ok "next --json (every job)" || bad "next all: $(out nxa | head -c 300) $(err nxa)"
run nxu next nosuch
[ $rc -eq 1 ] && grep -q "unknown job" "$T/nxu.err" && ok "next of an unknown job: exit 1, the server's message" ||
	bad "next nosuch: rc=$rc $(err nxu)"

# ---- watch during a trigger, and trigger ------------------------------
timeout 60 "$cli" watch --job report --count 2 >"$T/w1.out" 2>"$T/w1.err" &
w1=$!
timeout 60 "$cli" watch --json --count 2 --job report >"$T/w2.out" 2>"$T/w2.err" &
w2=$!
sleep 1
run tr trigger report
expect_ok tr "trigger report"
fid=$(sed -n 's/^triggered report on ingest: fire \([^ ]*\) for .*/\1/p' "$T/tr.out")
[ -n "$fid" ] && ok "trigger: says the fire ($fid)" || bad "trigger: $(out tr)"
wait $w1
rc=$?
[ $rc -eq 0 ] && grep -qE "^[0-9TZ:.+-]+ +ingest/report +started +#1 " "$T/w1.out" &&
	grep -qE "ingest/report +succeeded +#1 +[0-9.]+(ms|s) +-$" "$T/w1.out" &&
	ok "watch --count 2: started then succeeded, with a duration" ||
	bad "watch: rc=$rc out: $(out w1) err: $(err w1)"
wait $w2
rc=$?
if [ $rc -eq 0 ] && [ "$(wc -l <"$T/w2.out")" -eq 2 ]; then
	states=$(python3 -c 'import json, sys
print(" ".join(json.loads(l)["state"] + ":" + json.loads(l)["fire_id"] for l in open(sys.argv[1])))' "$T/w2.out" 2>&1)
	[ "$states" = "started:$fid succeeded:$fid" ] && ok "watch --json: one object per line" ||
		bad "watch --json: $states"
else
	bad "watch --json: rc=$rc out: $(out w2) err: $(err w2)"
fi

run trj trigger broken --json
expect_ok trj "trigger --json"
bfid=$(py trj 'd["data"]["fire_id"]')
[ "$(py trj 'd["data"]["trigger"]')" = manual ] && ok "trigger --json: the fire ($bfid)" || bad "trigger --json: $(out trj)"

# trigger --wait: the run's outcome is the exit status.
run tw trigger report --wait
expect_ok tw "trigger --wait"
tail -1 "$T/tw.out" | grep -qE '^report: succeeded \(attempt 1, [0-9.]+(ms|s)\)$' &&
	ok "trigger --wait: succeeded" || bad "trigger --wait: $(out tw)"
run twb trigger broken --wait --timeout 30
[ $rc -eq 1 ] && grep -q '^cronfleet: broken failed: testsvc: planned failure' "$T/twb.err" &&
	ok "trigger --wait of a failing job: exit 1, its error" || bad "trigger --wait broken: rc=$rc $(err twb) $(out twb)"
run twj trigger report --wait --json
[ $rc -eq 0 ] && [ "$(py twj 'd["data"]["run"]["status"] + ":" + str(d["data"]["run"]["fire_id"] == d["data"]["trigger"]["fire_id"])')" = succeeded:True ] &&
	ok "trigger --wait --json: one document, the run" || bad "trigger --wait --json: rc=$rc $(out twj) $(err twj)"

# ---- history --------------------------------------------------------
has_run() {
	"$cli" history "$1" --json >"$T/hp.out" 2>/dev/null &&
		python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(not any(r["fire_id"] == sys.argv[2] and r["status"] == sys.argv[3] for r in d["data"]))' "$T/hp.out" "$2" "$3"
}
poll 30 has_run report "$fid" succeeded && ok "trigger → history shows the run" || bad "no succeeded run of $fid: $(out hp)"
poll 30 has_run broken "$bfid" failed || bad "no failed run of $bfid: $(out hp)"
run hi history
expect_ok hi "history"
grep -qE '^STARTED +JOB +SERVICE +TRIGGER +ATTEMPT +STATUS +DURATION +ERROR$' "$T/hi.out" &&
	grep -qE ' report +ingest +manual +1 +succeeded +[0-9.]+(ms|s) +-$' "$T/hi.out" &&
	grep -qE ' broken +ingest +manual +1 +failed +.*planned failure' "$T/hi.out" &&
	ok "history: both runs, the error shown" || bad "history: $(out hi)"
aligned hi STATUS ' broken ' failed && ok "history: aligned" || bad "history not aligned: $(out hi)"
run hf history --status failed --json
[ "$(py hf 'sorted(set((r["job"], r["status"]) for r in d["data"]))')" = '[["broken", "failed"]]' ] &&
	ok "history --status failed" || bad "history --status failed: $(out hf | head -c 400) $(err hf)"
[ "$(py hf 'd["data"][0]["error"]')" != None ] && py hf 'd["data"][0]["error"]' | grep -q 'planned failure' &&
	ok "history --json: the full error" || bad "history --json error: $(out hf | head -c 300)"
run hl history report --limit 1 --json
[ "$(py hl 'len(d["data"])')" = 1 ] && [ "$(py hl '"page" in d')" = true ] &&
	ok "history --limit 1 --json (the page cursor kept)" || bad "history --limit 1: $(out hl | head -c 300)"
run h1 history report --since 1h --json
[ "$(py h1 'any(r["fire_id"] == "'"$fid"'" for r in d["data"])')" = true ] &&
	ok "history --since 1h: the run" || bad "history --since 1h: $(out h1 | head -c 300) $(err h1)"
run hs history --since 2099-01-01T00:00:00Z --json
[ "$(py hs 'len(d["data"])')" = 0 ] && ok "history --since the future: none" || bad "history --since: $(out hs) $(err hs)"
run hb history --status bogus
[ $rc -eq 1 ] && grep -q bogus "$T/hb.err" && grep -q '^cronfleet: ' "$T/hb.err" &&
	ok "history --status bogus: exit 1, the server's message" || bad "history --status bogus: rc=$rc $(err hb)"

# ---- pause, resume, schedule ------------------------------------------
run pa pause report
expect_ok pa "pause"
head -1 "$T/pa.out" | grep -q '^paused report$' && grep -qE '^report +ingest +0 3 \* \* \* +.* paused ' "$T/pa.out" &&
	ok "pause: the job, paused" || bad "pause: $(out pa)"
run paj jobs --json
[ "$(py paj '[j["paused"] for j in d["data"] if j["job"] == "report"][0]')" = true ] &&
	ok "pause: jobs --json says paused" || bad "pause: $(out paj | head -c 300)"
run re resume report --json
expect_ok re "resume --json"
[ "$(py re 'd["data"]["paused"]')" = false ] && ok "resume --json: not paused" || bad "resume: $(out re)"
run sc schedule report '*/5 * * * *' --tz Europe/Paris
expect_ok sc "schedule"
grep -qE '^report +ingest +\*/5 \* \* \* \* +Europe/Paris +active ' "$T/sc.out" &&
	ok "schedule: the new schedule and zone" || bad "schedule: $(out sc)"
run scj schedule report '0 3 * * *' --tz UTC --json
# The zone travels as the expression's CRON_TZ= prefix (routes_jobs.c).
[ "$(py scj 'd["data"]["schedule"].endswith("0 3 * * *") and "UTC" in d["data"]["schedule"] + d["data"]["tz"]')" = true ] &&
	ok "schedule --json" || bad "schedule --json: $(out scj) $(err scj)"
run scb schedule report '61 * * * *'
[ $rc -eq 1 ] && [ ! -s "$T/scb.out" ] && grep -qi 'minute' "$T/scb.err" && [ "$(wc -l <"$T/scb.err")" -eq 1 ] &&
	ok "schedule with a bad expression: exit 1, the field named" || bad "bad schedule: rc=$rc $(err scb)"
run scz schedule report '0 3 * * *' --tz Mars/Olympus
[ $rc -eq 1 ] && grep -qi 'Mars/Olympus\|zone\|timezone' "$T/scz.err" &&
	ok "schedule with an unknown zone: exit 1" || bad "bad zone: rc=$rc $(err scz)"
run un pause nosuch
[ $rc -eq 1 ] && grep -q "nosuch" "$T/un.err" && ok "pause of an unknown job: exit 1" || bad "pause nosuch: rc=$rc $(err un)"

# ---- roles ------------------------------------------------------------
CRONFLEET_TOKEN=$viewer run vt trigger report
[ $rc -eq 1 ] && grep -q '^cronfleet: admin role required' "$T/vt.err" && [ ! -s "$T/vt.out" ] &&
	ok "viewer trigger: exit 1, admin role required" || bad "viewer trigger: rc=$rc $(err vt)"
CRONFLEET_TOKEN=$viewer run vs schedule report '* * * * *'
[ $rc -eq 1 ] && grep -q 'admin role required' "$T/vs.err" && ok "viewer schedule: refused" || bad "viewer schedule: rc=$rc $(err vs)"
CRONFLEET_TOKEN=$viewer run vj jobs
[ $rc -eq 0 ] && grep -q '^report ' "$T/vj.out" && ok "viewer jobs: allowed" || bad "viewer jobs: rc=$rc $(err vj)"
CRONFLEET_TOKEN= run nt jobs
[ $rc -eq 1 ] && grep -q 'CRONFLEET_TOKEN is not set' "$T/nt.err" && ok "no token: exit 1, says CRONFLEET_TOKEN" || bad "no token: rc=$rc $(err nt)"
CRONFLEET_TOKEN=wrong-token run wt jobs
[ $rc -eq 1 ] && grep -q '^cronfleet: ' "$T/wt.err" && ok "a wrong token: exit 1" || bad "wrong token: rc=$rc $(err wt)"

# ---- audit ------------------------------------------------------------
has_audit() {
	"$cli" audit --json --limit 50 >"$T/ap.out" 2>/dev/null &&
		python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
acts = {(e["action"], e["actor"], e["job"]) for e in d["data"]}
sys.exit(not {("trigger", "ops", "report"), ("pause", "ops", "report"), ("schedule", "ops", "report")} <= acts)' "$T/ap.out"
}
poll 20 has_audit && ok "audit --json: trigger, pause, schedule by ops" || bad "audit --json: $(out ap | head -c 600)"
run au audit --limit 50
expect_ok au "audit"
grep -qE '^AT +ACTOR +ROLE +ACTION +JOB +STATUS +OUTCOME +REMOTE +DETAIL$' "$T/au.out" &&
	grep -qE ' ops +admin +trigger +report +200 ' "$T/au.out" &&
	ok "audit: table" || bad "audit: $(out au)"
grep -qE ' ro +viewer +trigger +report +403 ' "$T/au.out" && ok "audit: the viewer's refused trigger" ||
	bad "audit: no refused trigger by ro: $(out au)"
run al audit --limit 2 --json
[ "$(py al 'len(d["data"])')" = 2 ] && ok "audit --limit 2" || bad "audit --limit 2: $(out al | head -c 300)"

# ---- watch across a gateway restart (Last-Event-ID) --------------------
timeout 90 "$cli" watch --json --job report --count 4 >"$T/w3.out" 2>"$T/w3.err" &
w3=$!
sleep 1
run t1 trigger report
fid1=$(sed -n 's/^triggered report on ingest: fire \([^ ]*\) for .*/\1/p' "$T/t1.out")
poll 30 has_run report "$fid1" succeeded || bad "no run of $fid1"
sleep 0.5
own_kill TERM "$gw_pid"
wait "$gw_pid"
[ $? -eq 0 ] && ok "gateway exits 0 with a stream open" || bad "gateway exit status after SIGTERM"
start_gateway
run t2 trigger report
fid2=$(sed -n 's/^triggered report on ingest: fire \([^ ]*\) for .*/\1/p' "$T/t2.out")
wait $w3
rc=$?
got=$(python3 -c 'import json, sys
print(" ".join(json.loads(l)["state"] + ":" + json.loads(l)["fire_id"] for l in open(sys.argv[1])))' "$T/w3.out" 2>&1)
[ $rc -eq 0 ] && [ "$got" = "started:$fid1 succeeded:$fid1 started:$fid2 succeeded:$fid2" ] &&
	grep -q 'reconnecting' "$T/w3.err" &&
	ok "watch reconnects after a gateway restart" || bad "watch across a restart: rc=$rc got: $got err: $(err w3)"

# ---- secrets ----------------------------------------------------------
if grep -rlqF -e "$admin" -e "$viewer" "$T"/*.out "$T"/*.err; then
	bad "a token was printed: $(grep -rlF -e "$admin" -e "$viewer" "$T"/*.out "$T"/*.err)"
else
	ok "no token in any output"
fi

for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || bad "a process of the fleet died"; done
if [ $fails -ne 0 ]; then
	echo "$fails failure(s)"
	for f in "$T"/*.log; do
		echo "--- $f (errors and warnings)"
		grep -v '"level":"debug"' "$f" | grep -v '"level":"info"' | tail -20
	done
	exit 1
fi
echo "all passed"
