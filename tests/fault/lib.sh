# tests/fault/lib.sh - shared by the fault suite (tests/fault/fault_suite.sh)
# and integration.outage (tests/integration/test_outage.sh). Source it.
#
# These tests stop and restart PostgreSQL and Redis, so they never touch
# the shared servers of scripts/test (DATABASE_URL, REDIS_URL): each starts
# its own, on free loopback ports, under its own temporary directory, and
# every process it starts is recorded here so that ft_cleanup (run from
# the caller's EXIT trap) ends them, and only them, by pid.

# The caller sets FT_TMP (a fresh directory) before calling anything.
FT_PIDS=()        # background processes started with ft_spawn
FT_PG_BIN=
FT_PG_DATA=
FT_PG_PORT=
FT_REDIS_PORT=
FT_REDIS_PID=

ft_say() { printf '%s  %s\n' "$(date -u +%H:%M:%S.%3N)" "$*"; }

# Milliseconds since the epoch, without a fork.
ft_now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# 0 if 127.0.0.1:$1 is taken: something listens on it, or a socket
# (an outgoing connection's local end, say) is bound to it in any state
# but TIME_WAIT (which does not stop a listener with SO_REUSEADDR).
ft_port_busy() {
	local hex
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
	printf -v hex '%04X' "$1"
	awk -v h=":$hex" 'substr($2, length($2) - 4) == h && $4 != "06" { f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# ft_port_block <first> <last> <n>: the first port p in [first, last - n]
# such that p .. p+n-1 are all free, starting from a place derived from
# our pid (two runs at once then rarely even try the same ports). Give a
# band below Linux's ephemeral range (32768 up): there, any outgoing
# connection may take the port while a clock or PostgreSQL is down and
# must bind it again.
ft_port_block() {
	local first=$1 last=$2 n=$3 span p i tries
	span=$(((last - first + 1) / n))
	p=$((first + ($$ % span) * n))
	for ((tries = 0; tries < span; tries++)); do
		for ((i = 0; i < n; i++)); do
			ft_port_busy $((p + i)) && break
		done
		if [ "$i" -eq "$n" ]; then
			echo "$p"
			return 0
		fi
		p=$((p + n))
		[ $((p + n - 1)) -gt "$last" ] && p=$first
	done
	return 1
}

# Runs a command as the postgres user when we are root (PostgreSQL
# refuses to run as root), as scripts/lib/common.sh does.
ft_as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# ft_pg_init <port>: a new cluster under $FT_TMP/pg, started; exports
# DATABASE_URL. Settings for a throwaway test cluster: no fsync (nothing
# here crashes the machine, only processes).
ft_pg_init() {
	FT_PG_PORT=$1
	FT_PG_BIN=$(pg_config --bindir 2>/dev/null)
	[ -x "$FT_PG_BIN/pg_ctl" ] || FT_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
	FT_PG_DATA=$FT_TMP/pg/data
	mkdir -p "$FT_TMP/pg"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$FT_TMP/pg"
	ft_as_pg "$FT_PG_BIN/initdb" -D "$FT_PG_DATA" -U postgres -A trust \
		>"$FT_TMP/pg/initdb.log" 2>&1 || {
		echo "initdb failed:"; cat "$FT_TMP/pg/initdb.log"; return 1
	}
	ft_pg_start || return 1
	export DATABASE_URL="postgresql://postgres@127.0.0.1:$FT_PG_PORT/postgres"
}

ft_pg_start() {
	ft_as_pg "$FT_PG_BIN/pg_ctl" -D "$FT_PG_DATA" -w -t 60 -l "$FT_TMP/pg/log" \
		-o "-p $FT_PG_PORT -k $FT_TMP/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
		start >/dev/null || {
		echo "PostgreSQL did not start:"; tail -20 "$FT_TMP/pg/log"; return 1
	}
}

# Fast shutdown: every connection is cut, as in an outage.
ft_pg_stop() {
	[ -n "$FT_PG_DATA" ] && [ -f "$FT_PG_DATA/postmaster.pid" ] &&
		ft_as_pg "$FT_PG_BIN/pg_ctl" -D "$FT_PG_DATA" -w -t 60 -m "${1:-fast}" stop >/dev/null 2>&1
	return 0
}

ft_pg_up() { ft_as_pg "$FT_PG_BIN/pg_ctl" -D "$FT_PG_DATA" status >/dev/null 2>&1; }

# ft_redis_start <port>: redis-server in the foreground of a background
# job (so we hold its pid), no persistence; exports REDIS_URL.
ft_redis_start() {
	FT_REDIS_PORT=$1
	mkdir -p "$FT_TMP/redis"
	redis-server --port "$FT_REDIS_PORT" --bind 127.0.0.1 --dir "$FT_TMP/redis" \
		--save '' --appendonly no --logfile "$FT_TMP/redis/log" >/dev/null 2>&1 &
	FT_REDIS_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		redis-cli -p "$FT_REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
		sleep 0.1
	done
	export REDIS_URL="redis://127.0.0.1:$FT_REDIS_PORT/0"
	redis-cli -p "$FT_REDIS_PORT" ping 2>/dev/null | grep -q PONG
}

ft_redis_stop() {
	[ -n "$FT_REDIS_PID" ] || return 0
	kill -TERM "$FT_REDIS_PID" 2>/dev/null
	wait "$FT_REDIS_PID" 2>/dev/null
	FT_REDIS_PID=
}

# ft_spawn <var> <log> <command...>: starts the command in the background
# with stdout and stderr appended to <log>; its pid goes into <var> and
# into FT_PIDS for the cleanup.
ft_spawn() {
	local __var=$1 log=$2
	shift 2
	"$@" >>"$log" 2>&1 &
	printf -v "$__var" '%s' "$!"
	FT_PIDS+=("$!")
}

ft_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# ft_kill9 <pid>: SIGKILL and reap.
ft_kill9() {
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# ft_stop <pid>: SIGTERM, up to 30 s to exit (then SIGKILL); returns the
# exit status (137 after the SIGKILL).
ft_stop() {
	local i
	kill -TERM "$1" 2>/dev/null
	for ((i = 0; i < 300; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# ft_watchdog <seconds>: after that long, SIGTERM to this script (whose
# TERM trap exits, so the EXIT trap cleans up) - so a test ends, clean,
# before ctest's TIMEOUT would SIGKILL it and leave PostgreSQL running.
# Sets FT_WATCHDOG; ft_cleanup ends it (and its sleep).
FT_WATCHDOG=
ft_watchdog() {
	local main=$$
	(
		s=
		trap 'kill $s 2>/dev/null; exit 0' TERM
		sleep "$1" &
		s=$!
		wait $s
		kill -TERM $main
	) >/dev/null 2>&1 &
	FT_WATCHDOG=$!
}

# Ends what we started: our processes (TERM, then KILL after a grace),
# PostgreSQL (immediate) and Redis. Safe to call twice.
ft_cleanup() {
	local p i
	if [ -n "$FT_WATCHDOG" ]; then
		kill -TERM "$FT_WATCHDOG" 2>/dev/null
		wait "$FT_WATCHDOG" 2>/dev/null
		FT_WATCHDOG=
	fi
	for p in "${FT_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for ((i = 0; i < 50; i++)); do
		local alive=0
		for p in "${FT_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive -eq 0 ] && break
		sleep 0.1
	done
	for p in "${FT_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	FT_PIDS=()
	ft_redis_stop
	ft_pg_stop immediate
}

# ft_req <url> <text command>: one request to a REP socket; the reply
# (JSON) on stdout, status 0 only when the reply says success.
ft_req() {
	local out
	out=$(timeout 15 nngcat --req --dial "$1" --ascii --recv-timeout 10 --data "$2" 2>&1)
	printf '%s\n' "$out"
	[[ $out == *'"success":true'* ]]
}

# ft_sql <query>: tuples only, unaligned, '|' between columns. Fails on
# error (stderr kept for the log).
ft_sql() { psql -X -qtA -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "$1"; }

# ft_listener_pid <port> <pid...>: which of the given pids holds the
# listening TCP socket on 127.0.0.1:<port> (from /proc: no ss or lsof
# needed). Empty output when none does.
ft_listener_pid() {
	local port=$1 hex inode p
	shift
	printf -v hex '%04X' "$port"
	inode=$(awk -v h=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == h { print $10; exit }' \
		/proc/net/tcp 2>/dev/null)
	[ -n "$inode" ] && [ "$inode" != 0 ] || return 0
	for p in "$@"; do
		[ -n "$p" ] || continue
		if ls -l "/proc/$p/fd" 2>/dev/null | grep -q "socket:\[$inode\]"; then
			echo "$p"
			return 0
		fi
	done
}

# ft_json_field <json> <key>: the value of the first "key": in a flat
# JSON reply (strings without quotes). Enough for status replies.
ft_json_field() {
	sed -n "s/.*\"$2\":\(\"\([^\"]*\)\"\|\([^,}]*\)\).*/\2\3/p" <<<"$1" | head -1
}
