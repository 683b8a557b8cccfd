#!/usr/bin/env bash
# cli.cron: "cronfleet cron next|explain" through the built binary.
# Checks the output format, the DST marks, and that invalid input gives
# exit status 2, one line on stderr and nothing on stdout.
set -u
bin=${1:?usage: test_cron_cli.sh path/to/cronfleet}
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect_out <name> <expected stdout> -- <args...>
expect_out() {
	local name=$1 want=$2
	shift 3
	local got rc
	got=$("$bin" "$@" 2>"$tmp/err")
	rc=$?
	if [ $rc -ne 0 ] || [ "$got" != "$want" ]; then
		echo "FAIL $name: rc=$rc"
		echo "  want: $(echo "$want" | tr '\n' '|')"
		echo "  got:  $(echo "$got" | tr '\n' '|')"
		echo "  err:  $(cat "$tmp/err")"
		fails=$((fails + 1))
	else
		echo "ok   $name"
	fi
}

# expect_invalid <name> <substring of the message> -- <args...>
expect_invalid() {
	local name=$1 want=$2
	shift 3
	"$bin" "$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	local lines
	lines=$(wc -l <"$tmp/err")
	if [ $rc -ne 2 ] || [ -s "$tmp/out" ] || [ "$lines" -ne 1 ] ||
		! grep -qF -- "$want" "$tmp/err"; then
		echo "FAIL $name: rc=$rc stdout=$(wc -c <"$tmp/out")B stderr lines=$lines"
		echo "  want message containing: $want"
		echo "  err: $(cat "$tmp/err")"
		fails=$((fails + 1))
	else
		echo "ok   $name"
	fi
}

# expect_grep <name> <regex> -- <args...>: stdout matches the regex.
expect_grep() {
	local name=$1 re=$2
	shift 3
	local got
	got=$("$bin" "$@" 2>&1)
	if ! grep -qE -- "$re" <<<"$got"; then
		echo "FAIL $name: output does not match /$re/"
		echo "$got" | sed 's/^/  /'
		fails=$((fails + 1))
	else
		echo "ok   $name"
	fi
}

expect_out next.berlin_gap "2025-03-29T02:30:00+01:00
2025-03-30T03:30:00+02:00
2025-03-31T02:30:00+02:00" -- \
	cron next '30 2 * * *' --tz Europe/Berlin --from 2025-03-28T12:00:00Z --count 3

expect_out next.strictly_after "2025-01-01T00:15:00+00:00" -- \
	cron next '*/15 * * * *' --from 2025-01-01T00:00:00Z

expect_out next.equals_form "2025-01-01T00:15:00+00:00" -- \
	cron next '*/15 * * * *' --from=2025-01-01T00:00:00Z --count=1

expect_out next.leap "2028-02-29T00:00:00+00:00
2032-02-29T00:00:00+00:00" -- cron next '0 0 29 2 *' --from 2025-01-01T00:00:00Z --count 2

expect_out next.lord_howe "2025-10-05T02:45:00+11:00" -- \
	cron next '15 2 * * *' --tz Australia/Lord_Howe --from 2025-10-04T12:00:00Z

expect_out next.skip "2025-03-31T02:30:00+02:00" -- \
	cron next '30 2 * * *' --tz Europe/Berlin --from 2025-03-29T12:00:00Z --dst-gap skip

expect_out next.at_transition "2025-03-30T03:00:00+02:00" -- \
	cron next '30 2 * * *' --tz Europe/Berlin --from 2025-03-29T12:00:00Z --dst-gap at-transition

expect_out next.repeat_last "2025-10-26T02:30:00+01:00" -- \
	cron next '30 2 * * *' --tz Europe/Berlin --from 2025-10-25T12:00:00Z --dst-repeat last

expect_out next.kathmandu "2025-06-01T09:00:00+05:45" -- \
	cron next '0 9 * * *' --tz Asia/Kathmandu --from 2025-06-01T00:00:00Z

expect_out next.seconds "2025-01-01T00:00:20+00:00
2025-01-01T00:00:40+00:00" -- cron next '*/20 * * * * *' --from 2025-01-01T00:00:00Z --count 2

expect_out next.every "1970-01-01T00:01:30+00:00" -- \
	cron next '@every 90s' --from 1970-01-01T00:00:00Z

# --from defaults to now: the fire is in the future.
now=$(date -u +%s)
first=$("$bin" cron next '* * * * *')
if [ "$(date -u -d "$first" +%s)" -gt "$now" ]; then echo "ok   next.default_now"; else
	echo "FAIL next.default_now: $first is not after $now"; fails=$((fails + 1)); fi

expect_grep explain.words '^At 02:30 every day, Europe/Berlin$' -- \
	cron explain '30 2 * * *' --tz Europe/Berlin
expect_grep explain.five '^Next 5 fires:$' -- cron explain '30 2 * * *' --tz Europe/Berlin
expect_grep explain.shift_mark '2025-03-30T03:30:00\+02:00 +DST: 02:30 does not exist' -- \
	cron explain '30 2 * * *' --tz Europe/Berlin --from 2025-03-28T12:00:00Z
expect_grep explain.doubled_mark '2025-10-26T02:30:00\+01:00 +DST: 02:30 occurs twice; second of two' -- \
	cron explain '*/30 * * * *' --tz Europe/Berlin --from 2025-10-26T00:00:00Z
expect_grep explain.first_only_mark '2025-10-26T02:30:00\+02:00 +DST: 02:30 occurs twice; fires at the first only' -- \
	cron explain '30 2 * * *' --tz Europe/Berlin --from 2025-10-25T12:00:00Z
expect_grep explain.or_warning '^Warning: .*both restricted' -- cron explain '0 0 */2 * MON'
expect_grep explain.nth 'first Monday of the month' -- cron explain '0 9 * * MON#1'
expect_grep explain.last 'last day of the month' -- cron explain '0 0 L * *'

expect_invalid invalid.dom_range 'day-of-month: 32 is out of range 1-31' -- cron next '0 0 32 * *'
expect_invalid invalid.reversed 'hour: range 5-3 is reversed' -- cron next '0 5-3 * * *'
expect_invalid invalid.step0 'minute: step 0' -- cron next '*/0 * * * *'
expect_invalid invalid.fields 'got 4' -- cron next '* * * *'
expect_invalid invalid.name "month: unknown name 'FOO'" -- cron next '0 0 1 FOO *'
expect_invalid invalid.never 'never' -- cron next '0 0 30 2 *'
expect_invalid invalid.zone "unknown time zone 'Mars/Base'" -- cron next '0 0 * * *' --tz Mars/Base
expect_invalid invalid.from '--from' -- cron next '0 0 * * *' --from yesterday
expect_invalid invalid.count '--count' -- cron next '0 0 * * *' --count 0
expect_invalid invalid.gap '--dst-gap' -- cron next '0 0 * * *' --dst-gap sideways
expect_invalid invalid.repeat '--dst-repeat' -- cron next '0 0 * * *' --dst-repeat never
expect_invalid invalid.option "unknown option '--frm'" -- cron next '0 0 * * *' --frm x
expect_invalid invalid.missing 'missing expression' -- cron next
expect_invalid invalid.explain 'day-of-week' -- cron explain '0 0 * * MON#6'
expect_invalid invalid.newline 'not a duration' -- cron next $'@every 5x\nmore'
expect_invalid invalid.subcommand 'unknown subcommand' -- cron nxt '* * * * *'

if [ $fails -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "all passed"
