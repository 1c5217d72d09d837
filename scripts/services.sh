#!/usr/bin/env bash
# Makes sure the services the tests talk to are up: PostgreSQL and Redis on
# 127.0.0.1. Starts one that is installed but stopped; fails loudly, naming the
# way to start it, when one can't be reached. Used by `make test` and .ci/run.
set -u

pg_url="${STARFLOW_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
redis_url="${STARFLOW_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"

pg_up() { pg_isready -q -d "$pg_url" >/dev/null 2>&1; }
redis_up() {
	if command -v redis-cli >/dev/null 2>&1; then
		[ "$(redis-cli -u "$redis_url" ping 2>/dev/null)" = "PONG" ]
	else
		(exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null
	fi
}

wait_for() { # name check-function
	for _ in $(seq 1 50); do "$2" && return 0; sleep 0.2; done
	return 1
}

if ! pg_up; then
	if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
		echo "services: starting PostgreSQL" >&2
		for v in $(ls /etc/postgresql); do pg_ctlcluster --skip-systemctl-redirect "$v" main start >&2 || true; done
		wait_for PostgreSQL pg_up
	fi
fi
if ! pg_up; then
	echo "services: PostgreSQL is not reachable at $pg_url." >&2
	echo "  Install it (apt-get install postgresql) and start it with:" >&2
	echo "  pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start" >&2
	echo "  or point STARFLOW_TEST_POSTGRES_URL at a reachable server." >&2
	exit 1
fi

if ! redis_up; then
	if command -v redis-server >/dev/null 2>&1; then
		echo "services: starting Redis" >&2
		mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
		redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
			--dir /var/lib/redis --logfile /var/log/redis/ci.log >&2 || true
		wait_for Redis redis_up
	fi
fi
if ! redis_up; then
	echo "services: Redis is not reachable at $redis_url." >&2
	echo "  Install it (apt-get install redis-server) and start it with:" >&2
	echo "  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no" >&2
	echo "  or point STARFLOW_TEST_REDIS_URL at a reachable server." >&2
	exit 1
fi
# Chromium for the browser tests of web/ui: installed from Debian when missing.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
	echo "services: installing Chromium for the browser tests" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q chromium >&2 || { apt-get update -q >&2 && apt-get install -y -q chromium >&2; } || true
fi
if ! command -v chromium >/dev/null 2>&1; then
	echo "services: Chromium is not installed; the browser tests (web/ui) need it." >&2
	echo "  Install it with: apt-get update && apt-get install -y chromium" >&2
	exit 1
fi
echo "services: PostgreSQL, Redis and Chromium are up" >&2
