# Shared by scripts/up and scripts/test: packages, build, and a throwaway
# PostgreSQL and Redis on loopback under var/. Source it; do not run it.

CF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CF_VAR=${CF_VAR:-$CF_ROOT/var}

# 0 if something listens on 127.0.0.1:$1.
cf_port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The first port from $1 on that nothing listens on, unless our own
# server (pidfile $2 alive) already holds $1.
cf_free_port() {
	local p=$1
	if [ -n "${2:-}" ] && [ -s "$2" ] && kill -0 "$(head -1 "$2")" 2>/dev/null; then
		echo "$p"
		return
	fi
	while cf_port_busy "$p"; do p=$((p + 1)); done
	echo "$p"
}

# Ports of the throwaway servers: as given, else the first free from the
# defaults (the port in use is remembered under var/ for the next run).
if [ -z "${CF_PG_PORT:-}" ]; then
	CF_PG_PORT=$(cat "$CF_VAR/pg/port" 2>/dev/null || echo 55432)
	CF_PG_PORT=$(cf_free_port "$CF_PG_PORT" "$CF_VAR/pg/data/postmaster.pid")
fi
if [ -z "${CF_REDIS_PORT:-}" ]; then
	CF_REDIS_PORT=$(cat "$CF_VAR/redis/port" 2>/dev/null || echo 56379)
	CF_REDIS_PORT=$(cf_free_port "$CF_REDIS_PORT" "$CF_VAR/redis/redis.pid")
fi

cf_say() { printf '==> %s\n' "$*" >&2; }

# Debian packages the build, the tests and the fleet need.
CF_PACKAGES=(build-essential cmake pkg-config clang libclang-rt-14-dev
	libicu-dev libcmocka-dev libnng-dev nng-utils libmsgpack-dev
	libcjson-dev libhiredis-dev libmicrohttpd-dev libcurl4-openssl-dev
	libssl-dev libpq-dev postgresql redis-server valgrind curl
	docker-compose python3 python3-prometheus-client)

# Installs what is missing with apt-get when root (or with password-less
# sudo); otherwise prints the exact command to run and stops.
cf_install_deps() {
	local missing=() p
	for p in "${CF_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		# Password-less sudo (as on CI machines) is as good as root.
		if ! sudo -n true 2>/dev/null; then
			cf_say "missing Debian packages; as root, run:"
			echo "apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
			exit 1
		fi
		sudo=(sudo -n)
	fi
	cf_say "installing: ${missing[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# cf_build <build dir> [cmake args...]
cf_build() {
	local dir=$1
	shift
	cmake -S "$CF_ROOT" -B "$dir" "$@" >/dev/null
	cmake --build "$dir" -j"$(nproc)"
}

# Runs a command as the postgres user when we are root (PostgreSQL
# refuses to run as root).
cf_as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# Starts a throwaway PostgreSQL under var/pg unless DATABASE_URL is set;
# exports DATABASE_URL either way.
cf_start_pg() {
	if [ -n "${DATABASE_URL:-}" ]; then
		cf_say "using DATABASE_URL from the environment"
		return 0
	fi
	local bin
	bin=$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | tail -1)
	local data=$CF_VAR/pg/data sock=$CF_VAR/pg
	mkdir -p "$sock"
	[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$sock"
	if [ ! -f "$data/PG_VERSION" ]; then
		cf_as_pg "$bin/initdb" -D "$data" -U postgres -A trust >/dev/null
	fi
	if ! cf_as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		cf_as_pg "$bin/pg_ctl" -D "$data" -w -l "$sock/log" \
			-o "-p $CF_PG_PORT -k $sock -c listen_addresses=127.0.0.1" \
			start >/dev/null
	fi
	echo "$CF_PG_PORT" >"$sock/port"
	export DATABASE_URL="postgresql://postgres@127.0.0.1:$CF_PG_PORT/postgres"
	cf_say "PostgreSQL on 127.0.0.1:$CF_PG_PORT (data in $data)"
}

cf_stop_pg() {
	local bin
	bin=$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | tail -1)
	[ -f "$CF_VAR/pg/data/PG_VERSION" ] &&
		cf_as_pg "$bin/pg_ctl" -D "$CF_VAR/pg/data" -m fast stop >/dev/null 2>&1
	return 0
}

# Starts a throwaway Redis under var/redis unless REDIS_URL is set;
# exports REDIS_URL either way.
cf_start_redis() {
	if [ -n "${REDIS_URL:-}" ]; then
		cf_say "using REDIS_URL from the environment"
		return 0
	fi
	mkdir -p "$CF_VAR/redis"
	if ! redis-cli -p "$CF_REDIS_PORT" ping >/dev/null 2>&1; then
		redis-server --port "$CF_REDIS_PORT" --bind 127.0.0.1 \
			--dir "$CF_VAR/redis" --save '' --appendonly no \
			--daemonize yes --pidfile "$CF_VAR/redis/redis.pid" \
			--logfile "$CF_VAR/redis/log" >/dev/null
		for _ in $(seq 50); do
			redis-cli -p "$CF_REDIS_PORT" ping >/dev/null 2>&1 && break
			sleep 0.1
		done
	fi
	echo "$CF_REDIS_PORT" >"$CF_VAR/redis/port"
	export REDIS_URL="redis://127.0.0.1:$CF_REDIS_PORT/0"
	cf_say "Redis on 127.0.0.1:$CF_REDIS_PORT"
}

cf_stop_redis() {
	redis-cli -p "$CF_REDIS_PORT" shutdown nosave >/dev/null 2>&1
	return 0
}
