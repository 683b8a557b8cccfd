#!/usr/bin/env bash
# cli.config_exit: the configuration table through a real process and the
# real environment ("test_unit_config probe" loads the test table from the
# environment and prints its dump). A bad value gives exit status 2, one
# line on stderr naming the variable, the value and what is accepted, and
# nothing on stdout; a good environment gives exit 0 and the dump, with
# secrets redacted.
set -u
bin=${1:?usage: test_config_exit.sh path/to/test_unit_config}
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Only the variables a case sets: nothing leaks in from the caller.
run() {
	env -u T_STR -u T_INT -u T_BOOL -u T_DUR -u T_LEVEL -u T_URL \
		-u T_ZONE -u T_SECRET -u T_ANYINT -u T_ANYURL -u T_ANYDUR \
		"$@" "$bin" probe >"$tmp/out" 2>"$tmp/err"
}

# expect_exit2 <name> <exact stderr line> <VAR=value...>
expect_exit2() {
	local name=$1 want=$2
	shift 2
	run "$@"
	local rc=$? lines
	lines=$(wc -l <"$tmp/err")
	if [ $rc -ne 2 ] || [ -s "$tmp/out" ] || [ "$lines" -ne 1 ] ||
		[ "$(cat "$tmp/err")" != "$want" ]; then
		echo "FAIL $name: rc=$rc stdout=$(wc -c <"$tmp/out")B" \
			"stderr lines=$lines"
		echo "  want: $want"
		echo "  got:  $(cat "$tmp/err")"
		fails=$((fails + 1))
	else
		echo "ok   $name"
	fi
}

# expect_ok <name> <substring of stdout> <absent substring> <VAR=value...>
expect_ok() {
	local name=$1 want=$2 absent=$3
	shift 3
	run "$@"
	local rc=$?
	if [ $rc -ne 0 ] || [ -s "$tmp/err" ] ||
		! grep -qF -- "$want" "$tmp/out" ||
		{ [ -n "$absent" ] && grep -qF -- "$absent" "$tmp/out"; }; then
		echo "FAIL $name: rc=$rc"
		echo "  want stdout with: $want${absent:+, without: $absent}"
		echo "  stdout: $(cat "$tmp/out")"
		echo "  stderr: $(cat "$tmp/err")"
		fails=$((fails + 1))
	else
		echo "ok   $name"
	fi
}

expect_ok defaults \
	'"T_INT":4,"T_BOOL":false,"T_DUR":"5m","T_LEVEL":"info"' ''
expect_ok values '"T_LEVEL":"warn"' '' T_LEVEL=WARN T_ZONE=Europe/Berlin
expect_ok secret_redacted '"T_SECRET":"<redacted>"' hunter2 \
	T_SECRET=hunter2
expect_ok url_password_masked '"T_URL":"postgres://cf:***@db/cf"' s3cret \
	T_URL=postgres://cf:s3cret@db/cf
expect_ok empty_is_default '"T_INT":4' '' T_INT=

levels="one of debug, info, warn, error"
ints="an integer from 1 to 64"
zones="a known IANA time zone (e.g. UTC, Europe/Berlin)"
durs="a duration from 1s to 1h (e.g. 500ms, 30s, 5m, 1h)"
bools="a boolean (true/false, yes/no, on/off, 1/0)"
pgurls="a postgres:// or postgresql:// URL"
expect_exit2 enum "probe: T_LEVEL: 'loud' is not $levels" T_LEVEL=loud
expect_exit2 int_bounds "probe: T_INT: '65' is not $ints" T_INT=65
expect_exit2 zone "probe: T_ZONE: 'Mars/Olympus_Mons' is not $zones" \
	T_ZONE=Mars/Olympus_Mons
expect_exit2 duration "probe: T_DUR: '5' is not $durs" T_DUR=5
expect_exit2 bool "probe: T_BOOL: 'maybe' is not $bools" T_BOOL=maybe
expect_exit2 url "probe: T_URL: 'mysql://u:***@db/cf' is not $pgurls" \
	T_URL=mysql://u:pw@db/cf
expect_exit2 newline_stays_one_line "probe: T_INT: '4\\x0a5' is not $ints" \
	"T_INT=4
5"

if [ $fails -ne 0 ]; then
	echo "$fails failed"
	exit 1
fi
echo "all passed"
