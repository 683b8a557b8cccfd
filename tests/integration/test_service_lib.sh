# test_service_lib.sh - shared by the integration.service.* shell tests
# (sourced, not run): a real cronfleet-clock and cronfleet-testsvc
# replicas on unique ports and schemas, polling helpers, ok/bad.
#
# After svc_setup <band> <tag>: $S is the service's schema, $NAME its
# name, $T a temporary directory (removed at exit with everything
# started), $R1 and $R2 the replicas' REP addresses.

fails=0
pids=()
svc_pids=()

ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
sql() { psql -qtAX "$DATABASE_URL" -c "$1" 2>&1; }
req() { nngcat --req --dial "$1" --ascii --data "$2" 2>&1; }

# svc_setup <first port of the band> <tag> [slots]: ports base..base+9,
# one of the band's slots of ten (100 slots, 1000 ports, unless told;
# chosen by pid), schemas, cleanup.
svc_setup() {
	local band=$1 tag=$2 slots=${3:-100} slot k
	# Take the first slot of ten ports, from the pid's on, that no
	# socket uses (another test may have left one in TIME_WAIT).
	for k in $(seq 0 $((slots - 1))); do
		slot=$(((($$ + k) % slots)))
		base=$((band + slot * 10))
		ports_free $base $((base + 9)) && break
	done
	NAME=tsv
	S=tsv_${tag}_$$
	T=$(mktemp -d)
	export CF_TESTSVC_NAME=$NAME
	export CRONFLEET_CLOCK_REP=tcp://127.0.0.1:$base
	export CRONFLEET_CLOCK_PUB=tcp://127.0.0.1:$((base + 1))
	export CRONFLEET_CLOCK_SCHEMA=clock_${tag}_$$
	export CRONFLEET_TSV_SCHEMA=$S
	export CRONFLEET_LOG_LEVEL=debug
	R1=tcp://127.0.0.1:$((base + 2))
	R2=tcp://127.0.0.1:$((base + 4))
	trap svc_cleanup EXIT
}

# ports_free <lo> <hi>: 0 if no TCP socket uses a port in [lo, hi].
ports_free() {
	[ -z "$(ss -Htan "( sport >= :$1 and sport <= :$2 ) or ( dport >= :$1 and dport <= :$2 )" 2>/dev/null)" ]
}

# own_kill <signal> <pid>: only a process this script started and that
# is still its child (a pid may have been reused by someone else's).
own_kill() {
	[ "$(ps -o ppid= -p "$2" 2>/dev/null | tr -d ' ')" = "$$" ] &&
		kill "-$1" "$2" 2>/dev/null
}

svc_cleanup() {
	for p in "${svc_pids[@]}" "${pids[@]}"; do
		own_kill KILL "$p"
	done
	wait 2>/dev/null
	psql -q "$DATABASE_URL" -c "DROP SCHEMA IF EXISTS $CRONFLEET_CLOCK_SCHEMA CASCADE; DROP SCHEMA IF EXISTS $S CASCADE" >/dev/null 2>&1
	redis-cli -u "$REDIS_URL" DEL "cronfleet:clock:leader:$CRONFLEET_CLOCK_SCHEMA" >/dev/null 2>&1
	rm -rf "$T"
}

# poll <seconds> <command...>: until the command succeeds; 1 if never.
poll() {
	local secs=$1 i
	shift
	for i in $(seq $((secs * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

clock_leads() { req "$CRONFLEET_CLOCK_REP" status | grep -q '"role":"leader"'; }

# start_clock [NAME=value...]: the clock with extra settings, leading.
start_clock() {
	env "$@" "$bindir/cronfleet-clock" 2>>"$T/clock.log" &
	clock_pid=$!
	pids+=($clock_pid)
	poll 60 clock_leads || bad "the clock does not lead (see below)"
}

stop_clock() {
	own_kill TERM "$clock_pid"
	wait "$clock_pid" 2>/dev/null
}

# start_svc <tag> <k> [NAME=value...]: replica k (0, 1) of the test
# service, answering; its events appended to $T/events.
start_svc() {
	local tag=$1 k=$2 rep pub pid
	shift 2
	rep=tcp://127.0.0.1:$((base + 2 + 2 * k))
	pub=tcp://127.0.0.1:$((base + 3 + 2 * k))
	env CRONFLEET_TSV_REP=$rep CRONFLEET_TSV_PUB=$pub "$@" \
		"$bindir/cronfleet-testsvc" 2>>"$T/$tag.log" &
	pid=$!
	svc_pids+=($pid)
	eval "pid_$tag=$pid"
	poll 30 sh -c "nngcat --req --dial $rep --ascii --data ping 2>/dev/null | grep -q pong" ||
		bad "replica $tag does not answer"
	nngcat --sub --dial "$pub" --subscribe event. --quoted >>"$T/events" 2>/dev/null &
	pids+=($!)
}

# stop_svcs: SIGTERM every replica; each must exit 0 (under the
# sanitizers, a leak or an error would change that).
stop_svcs() {
	local p rc
	for p in "${svc_pids[@]}"; do own_kill TERM "$p"; done
	for p in "${svc_pids[@]}"; do
		wait "$p" 2>/dev/null
		rc=$?
		[ $rc -eq 0 ] || bad "a replica exited $rc after SIGTERM"
	done
	svc_pids=()
}

registered() { req "$CRONFLEET_CLOCK_REP" jobs | grep -q "\"job\":\"$1\""; }
wait_registered() { poll 60 registered "$1"; }

# trigger <job>: a manual fire through the clock; prints its fire id.
trigger() {
	local out fid i
	for i in $(seq 20); do
		out=$(req "$CRONFLEET_CLOCK_REP" "trigger $1")
		fid=$(echo "$out" | sed -n 's/.*"fire_id":"\([^"]*\)".*/\1/p')
		[ -n "$fid" ] && { echo "$fid"; return 0; }
		sleep 0.5
	done
	echo "trigger $1 failed: $out" >&2
	echo "none@$1"
}

has_status() { [ "$(sql "SELECT count(*) FROM $S.job_runs WHERE fire_id = '$1' AND status = '$2'")" -ge 1 ]; }
wait_status() { poll "${3:-30}" has_status "$1" "$2" || bad "fire $1 never $2"; }

is_settled() { [ "$(sql "SELECT count(*) FROM $S.job_runs WHERE fire_id = '$1' AND final")" -ge 1 ]; }
wait_settled() { poll "${2:-30}" is_settled "$1" || bad "fire $1 not settled"; }

# has_attempts <fire> <n> final: attempt n exists and is final.
has_attempts() { [ "$(sql "SELECT count(*) FROM $S.job_runs WHERE fire_id = '$1' AND attempt = $2 AND final")" = 1 ]; }
wait_attempts() { poll "${4:-30}" has_attempts "$1" "$2" || bad "fire $1: attempt $2 never final"; }

svc_finish() {
	if [ $fails -ne 0 ]; then
		echo "$fails failure(s)"
		for f in "$T"/*.log; do
			echo "--- $f (errors and warnings)"
			grep -v '"level":"debug"' "$f" | grep -v '"level":"info"' | tail -30
		done
		exit 1
	fi
	echo "all passed"
	exit 0
}
