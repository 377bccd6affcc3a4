#!/usr/bin/env bash
# Project-local PostgreSQL and Redis on loopback ports, data under .data/.
# Sourced by dev.sh and test.sh:  services_start  /  services_stop (stops only what it started).
# DATABASE_URL / REDIS_URL, when set, point at existing servers and nothing is started for them.

CRM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="$CRM_ROOT/.data"
PG_PORT="${CRM_PG_PORT:-55432}"
REDIS_PORT="${CRM_REDIS_PORT:-56379}"
_started_pg=0
_started_redis=0

_env_value() { sed -n "s/^$1=//p" "$CRM_ROOT/.env" | tail -n 1; }

_pg_bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
  local d; for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do [ -x "$d/initdb" ] && { echo "$d"; return; }; done
  dirname "$(command -v initdb)"
}

# postgres refuses to run as root: as root, run its commands as the postgres user.
_as_pg() {
  # (from /, which the postgres user can always enter; every path here is absolute)
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

_pgdata() {
  local dir="${CRM_PGDATA:-$DATA/postgres}"
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$(dirname "$dir")" 2>/dev/null; then
    # The postgres user cannot reach the checkout (say, under /root): keep the cluster outside.
    dir="/var/lib/crm-dev/$(printf '%s' "$CRM_ROOT" | sha256sum | cut -c1-12)/postgres"
  fi
  echo "$dir"
}

services_start() {
  mkdir -p "$DATA/log"
  local bindir pgdata pw
  if [ -z "${DATABASE_URL:-}" ]; then
    bindir="$(_pg_bindir)"; pgdata="$(_pgdata)"; pw="$(_env_value LOCAL_DB_PASSWORD)"
    if [ ! -s "$pgdata/PG_VERSION" ]; then
      echo "==> Creating a PostgreSQL cluster in $pgdata"
      mkdir -p "$pgdata"; chmod 700 "$pgdata"
      [ "$(id -u)" = 0 ] && chown -R postgres: "$(dirname "$pgdata")" "$pgdata"
      local pwfile; pwfile="$(mktemp)"; printf '%s\n' "$pw" > "$pwfile"
      [ "$(id -u)" = 0 ] && chown postgres "$pwfile"
      _as_pg "$bindir/initdb" -D "$pgdata" -U crm --pwfile="$pwfile" --auth-local=scram-sha-256 \
        --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
      rm -f "$pwfile"
    fi
    if ! _as_pg "$bindir/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
      echo "==> Starting PostgreSQL on 127.0.0.1:$PG_PORT"
      local logfile="$pgdata/../postgres.log"
      _as_pg "$bindir/pg_ctl" -D "$pgdata" -l "$logfile" -w -t 60 \
        -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='' ${CRM_PG_OPTIONS:-}" start >/dev/null \
        || { tail -n 20 "$logfile" >&2; return 1; }
      _started_pg=1
    fi
    PGPASSWORD="$pw" psql -h 127.0.0.1 -p "$PG_PORT" -U crm -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname='crm'" | grep -q 1 \
      || PGPASSWORD="$pw" psql -q -h 127.0.0.1 -p "$PG_PORT" -U crm -d postgres -c "CREATE DATABASE crm"
  fi
  if [ -z "${REDIS_URL:-}" ]; then
    mkdir -p "$DATA/redis"
    # redis-cli reads the password from REDISCLI_AUTH, so it never shows in the process list.
    export REDISCLI_AUTH; REDISCLI_AUTH="$(_env_value LOCAL_REDIS_PASSWORD)"
    if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
      echo "==> Starting Redis on 127.0.0.1:$REDIS_PORT"
      # The configuration (password included) goes through stdin; paths are quoted.
      printf 'port %s\nbind 127.0.0.1\ndir "%s"\ndaemonize yes\npidfile "%s"\nlogfile "%s"\nsave 300 1\nrequirepass "%s"\n' \
        "$REDIS_PORT" "$DATA/redis" "$DATA/redis/redis.pid" "$DATA/log/redis.log" \
        "$REDISCLI_AUTH" | redis-server - >/dev/null
      local i; for i in $(seq 50); do
        redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
        sleep 0.1
      done
      redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 \
        || { echo "Redis did not start; see $DATA/log/redis.log" >&2; tail -n 5 "$DATA/log/redis.log" >&2; return 1; }
      _started_redis=1
    fi
  fi
}

services_stop() {
  if [ "$_started_pg" = 1 ]; then
    echo "==> Stopping PostgreSQL"
    _as_pg "$(_pg_bindir)/pg_ctl" -D "$(_pgdata)" -m fast stop >/dev/null 2>&1 || true
    _started_pg=0
  fi
  if [ "$_started_redis" = 1 ]; then
    echo "==> Stopping Redis"
    REDISCLI_AUTH="$(_env_value LOCAL_REDIS_PASSWORD)" redis-cli -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || true
    _started_redis=0
  fi
}
