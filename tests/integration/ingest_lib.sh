# ingest_lib.sh - shared by the integration.ingest.* shell tests (sourced,
# not run): a real cronfleet-clock, the vendor simulator and
# cronfleet-ingest on a port band and schemas of their own, plus helpers.
#
#	. "$here/ingest_lib.sh"
#	ingest_setup <band> <tag> [n]   # ports (one slot of ten among the
#	                                # band's n, default 20: 200 ports),
#	                                # schemas, $T, cleanup at exit
#	start_sim [NAME=value...]       # the simulator at $SIM (virtual clock
#	                                # frozen at $SIM_NOW unless told)
#	start_clock                     # from test_service_lib.sh
#	start_ingest [NAME=value...]    # cronfleet-ingest answering at $IR
#	ing 'source-put {"org":...}'    # a command to ingest, reply on stdout
#	ing_ok 'org-put {"name":"A"}'   # the same; FAIL unless success
#	sim_fault <vendor> '<json>'     # arm a simulator fault
#	sim_clear                       # clear every fault
#	sim_stat <vendor> <key>         # one counter of /_sim/stats
#	run_job <job> [timeout]         # manual fire, wait until final: sets
#	                                # $RUN_FIRE, and $RUN_STATUS, $RUN_ERROR,
#	                                # $RUN_RESULT (JSON) of its last attempt
#	                                # (call it directly, not in $(...))
#
# $S is ingest's schema (tables qualified with it), $DEMO_ORG an
# organisation created by demo_org. Every variable the service reads is
# set here with test-friendly values (short HTTP timeouts, one attempt
# fewer); a test overrides them by passing NAME=value to start_ingest.
here_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here_lib/test_service_lib.sh"

ingest_setup() {
	local band=$1 tag=$2
	svc_setup "$band" "$tag" "${3:-20}"
	S=ing_${tag}_$$
	NAME=ingest
	IR=tcp://127.0.0.1:$((base + 2))
	IP=tcp://127.0.0.1:$((base + 3))
	SIM_ADDR=127.0.0.1:$((base + 5))
	SIM=http://$SIM_ADDR
	SIM_NOW=${SIM_NOW:-2024-03-10T12:00:00Z}
	export CRONFLEET_INGEST_SCHEMA=$S CRONFLEET_INGEST_REP=$IR
	export CRONFLEET_INGEST_PUB=$IP
	export CRONFLEET_SECRET_KEY=${CRONFLEET_SECRET_KEY:-$(openssl rand -hex 32)}
	export CRONFLEET_INGEST_HTTP_TIMEOUT=${CRONFLEET_INGEST_HTTP_TIMEOUT:-2s}
	export CRONFLEET_INGEST_HTTP_DEADLINE=${CRONFLEET_INGEST_HTTP_DEADLINE:-15s}
	export CRONFLEET_INGEST_BACKOFF_BASE=${CRONFLEET_INGEST_BACKOFF_BASE:-50ms}
	export CRONFLEET_INGEST_SWEEP=${CRONFLEET_INGEST_SWEEP:-1h}
	export WATTTIME_BASE_URL=$SIM/watttime WATTTIME_USERNAME=sim
	export WATTTIME_PASSWORD=sim-watttime-pass
	export ELECTRICITYMAPS_BASE_URL=$SIM/electricitymaps
	export ELECTRICITYMAPS_TOKEN=sim-electricitymaps-token
	export MAYSTRO_BASE_URL=$SIM/maystro MAYSTRO_API_KEY=sim-maystro-key
	# No run on start: each test fires what it checks.
	local j
	for j in ENERGY_SYNC CARBON_SYNC PLANT_SYNC ORDER_SYNC SHIPPING_SYNC; do
		export CRONFLEET_JOB_${j}_RUN_ON_START=false
	done
	trap ingest_cleanup EXIT
}

ingest_cleanup() {
	psql -q "$DATABASE_URL" -c "DROP SCHEMA IF EXISTS $S CASCADE" >/dev/null 2>&1
	svc_cleanup
}

# start_sim [NAME=value...]: the simulator with a frozen virtual clock.
start_sim() {
	env CRONFLEET_SIM_ADDR=$SIM_ADDR CRONFLEET_SIM_NOW=$SIM_NOW "$@" \
		"$bindir/cronfleet-vendor-sim" 2>>"$T/sim.log" &
	sim_pid=$!
	pids+=($sim_pid)
	poll 30 curl -sf "$SIM/_sim" -o /dev/null || bad "the simulator does not answer"
}

stop_sim() {
	own_kill TERM "$sim_pid"
	wait "$sim_pid" 2>/dev/null
}

# start_ingest [NAME=value...]
start_ingest() {
	env "$@" "$bindir/cronfleet-ingest" 2>>"$T/ingest.log" &
	ingest_pid=$!
	svc_pids+=($ingest_pid)
	poll 30 sh -c "nngcat --req --dial $IR --ascii --data ping 2>/dev/null | grep -q pong" ||
		bad "cronfleet-ingest does not answer (see $T/ingest.log)"
}

stop_ingest() {
	own_kill TERM "$ingest_pid"
	wait "$ingest_pid" 2>/dev/null
	local rc=$?
	[ $rc -eq 0 ] || bad "cronfleet-ingest exited $rc after SIGTERM"
	svc_pids=()
}

ing() { nngcat --req --dial "$IR" --ascii --data "$1" 2>&1; }

# ing_ok <command>: the reply's data on stdout; FAIL when refused.
ing_ok() {
	local out
	out=$(ing "$1")
	case $out in
	*'"success":true'*) echo "$out" ;;
	*) bad "ingest refused '${1:0:60}': $out"; echo "$out" ;;
	esac
}

# ing_id <command>: the "id" of a put's answer.
ing_id() { ing_ok "$1" | sed -n 's/.*"data":{"id":\([0-9]*\).*/\1/p'; }

sim_fault() { curl -sf -X PUT -d "$2" "$SIM/_sim/faults/$1" -o /dev/null || bad "arming $1 fault $2"; }
sim_clear() { curl -sf -X DELETE "$SIM/_sim/faults" -o /dev/null; }

# sim_stat <vendor> <key>: a counter from /_sim/stats (0 when absent).
sim_stat() {
	curl -sf "$SIM/_sim/stats" | python3 -c '
import json, sys
s = json.load(sys.stdin)
v = s.get("vendors", s).get(sys.argv[1], {})
for k in sys.argv[2].split("."):
    v = v.get(k, 0) if isinstance(v, dict) else 0
print(v if isinstance(v, int) else 0)' "$1" "$2"
}

# run_job <job> [timeout]: a manual fire, waited for until its last
# attempt is final. Sets RUN_STATUS, RUN_ERROR, RUN_RESULT (JSON text).
run_job() {
	local fid
	fid=$(trigger "$1")
	RUN_FIRE=$fid
	wait_settled "$fid" "${2:-60}"
	RUN_STATUS=$(sql "SELECT status FROM $S.job_runs WHERE fire_id = '$fid' ORDER BY attempt DESC LIMIT 1")
	RUN_ERROR=$(sql "SELECT coalesce(error, '') FROM $S.job_runs WHERE fire_id = '$fid' ORDER BY attempt DESC LIMIT 1")
	RUN_RESULT=$(sql "SELECT coalesce(result::text, 'null') FROM $S.job_runs WHERE fire_id = '$fid' ORDER BY attempt DESC LIMIT 1")
}

# jq_py <json> <python expression over j>: a value from a JSON text.
jq_py() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }

# demo_org: an organisation "demo"; $DEMO_ORG its id.
demo_org() { DEMO_ORG=$(ing_id 'org-put {"name":"demo"}'); }
