#!/usr/bin/env bash
# integration.gateway.config: the gateway's start and stop as a process.
# A missing token or a bad value exits 2 with one line naming the
# variable (never the token itself); a taken port exits 1; SIGTERM exits 0.
set -u
bin=${1:?usage: test_gateway_config.sh path/to/cronfleet-gateway}
fails=0
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
# A port derived from our pid, away from the C test's range and below
# the ephemeral ports (32768 up) that outgoing connections take.
port=$((20000 + $$ % 600 * 4))

# Only the variables a case sets: nothing leaks in from the caller.
run() {
	env $(env | sed -n 's/^\(CRONFLEET_[A-Z_]*\)=.*/-u \1/p') "$@" \
		timeout 10 "$bin" >"$tmp/out" 2>"$tmp/err"
}

# expect_exit <name> <status> <substring of stderr> <VAR=value...>
expect_exit() {
	local name=$1 want=$2 sub=$3
	shift 3
	run "$@"
	local rc=$?
	if [ $rc -ne "$want" ] || ! grep -qF -- "$sub" "$tmp/err" ||
		grep -qF 'sekrit-token' "$tmp/err"; then
		echo "FAIL $name: rc=$rc (want $want)"
		echo "  want stderr containing: $sub"
		echo "  got: $(cat "$tmp/err")"
		fails=$((fails + 1))
	else
		echo "ok   $name"
	fi
}

T=CRONFLEET_ADMIN_TOKEN=sekrit-token
A=CRONFLEET_GATEWAY_ADDR=127.0.0.1:$port

expect_exit no_token 2 \
	'cronfleet-gateway: CRONFLEET_ADMIN_TOKEN: not set' "$A"
expect_exit empty_token 2 'CRONFLEET_ADMIN_TOKEN: not set' \
	CRONFLEET_ADMIN_TOKEN= "$A"
expect_exit bad_addr 2 "CRONFLEET_GATEWAY_ADDR: 'nowhere' is not valid" \
	"$T" CRONFLEET_GATEWAY_ADDR=nowhere
expect_exit bad_port 2 "CRONFLEET_GATEWAY_ADDR: '127.0.0.1:99999'" \
	"$T" CRONFLEET_GATEWAY_ADDR=127.0.0.1:99999
expect_exit bad_service 2 "CRONFLEET_SERVICES: 'billing' is not one of" \
	"$T" "$A" CRONFLEET_SERVICES=maintenance,billing
expect_exit clock_not_a_service 2 "CRONFLEET_SERVICES: 'clock'" \
	"$T" "$A" CRONFLEET_SERVICES=clock
expect_exit bad_timeout 2 'CRONFLEET_GATEWAY_TIMEOUT' \
	"$T" "$A" CRONFLEET_GATEWAY_TIMEOUT=soon
expect_exit bad_url 2 'CRONFLEET_CLOCK_REP' \
	"$T" "$A" CRONFLEET_CLOCK_REP=http://127.0.0.1:7101
expect_exit bad_level 2 'CRONFLEET_LOG_LEVEL' \
	"$T" "$A" CRONFLEET_LOG_LEVEL=loud

# One instance listening; a second on the same port exits 1; SIGTERM
# stops the first with 0.
env "$T" "$A" "$bin" 2>"$tmp/first" &
first=$!
pids+=("$first")
up=0
for _ in $(seq 100); do
	if curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; then
		up=1
		break
	fi
	sleep 0.1
done
if [ $up -ne 1 ]; then
	echo "FAIL start: $(cat "$tmp/first")"
	fails=$((fails + 1))
else
	echo "ok   start"
fi
expect_exit port_taken 1 "cannot listen on 127.0.0.1:$port" "$T" "$A"
kill -TERM "$first"
wait "$first"
rc=$?
if [ $rc -ne 0 ] || ! grep -q '"msg":"stopped"' "$tmp/first"; then
	echo "FAIL sigterm: rc=$rc"
	fails=$((fails + 1))
else
	echo "ok   sigterm"
fi
# The token never appears in the logs.
if grep -qF 'sekrit-token' "$tmp/first"; then
	echo "FAIL token in log"
	fails=$((fails + 1))
fi

[ $fails -eq 0 ]
