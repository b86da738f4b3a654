#!/usr/bin/env bash
# Makes sure the services the store tests use are answering on loopback, starting them when
# they are not: Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432 (user postgres,
# database "test"; REDIS_PORT and PG_DATABASE override those two). Idempotent: services that
# already answer are left alone. Bounded: gives up with a non-zero exit after WAIT_SECONDS
# (default 30) per service.
set -euo pipefail

WAIT_SECONDS="${WAIT_SECONDS:-30}"
REDIS_PORT="${REDIS_PORT:-6379}"
PG_DATABASE="${PG_DATABASE:-test}"

log() { echo "start-services: $*"; }
fail() {
  echo "start-services: $*" >&2
  exit 1
}

redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

wait_until() { # wait_until <name> <check>
  local deadline=$((SECONDS + WAIT_SECONDS))
  until "$2"; do
    if ((SECONDS >= deadline)); then fail "$1 did not answer within ${WAIT_SECONDS}s"; fi
    sleep 0.2
  done
}

start_redis() {
  if redis_up; then
    log "redis already answering on 127.0.0.1:$REDIS_PORT"
    return
  fi
  command -v redis-server >/dev/null || fail "redis-server not found (apt-get install redis-server)"
  local dir=/var/lib/redis logfile=/var/log/redis/ci.log
  if [ ! -d "$dir" ] || [ ! -w "$dir" ]; then dir=$(mktemp -d "${TMPDIR:-/tmp}/redis-ci.XXXXXX"); fi
  if [ ! -d "$(dirname "$logfile")" ] || [ ! -w "$(dirname "$logfile")" ]; then logfile="$dir/ci.log"; fi
  log "starting redis (dir $dir, log $logfile)"
  # -::1 makes the IPv6 bind optional, so hosts without IPv6 still start.
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$dir" --logfile "$logfile"
  wait_until redis redis_up
  log "redis answering"
}

start_postgres() {
  if pg_up; then
    log "postgresql already answering on 127.0.0.1:5432"
  else
    command -v pg_ctlcluster >/dev/null || fail "pg_ctlcluster not found (apt-get install postgresql)"
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    [ -n "$version" ] || fail "no cluster under /etc/postgresql"
    log "starting postgresql $version/main"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || pg_up || fail "pg_ctlcluster could not start $version/main"
    wait_until postgresql pg_up
    log "postgresql answering"
  fi
  local exists
  exists=$(psql -h 127.0.0.1 -U postgres -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'" 2>/dev/null || true)
  if [ "$exists" != "1" ]; then
    log "creating database $PG_DATABASE"
    # Racing another run is fine: "already exists" is success here.
    psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE \"$PG_DATABASE\"" 2>/dev/null ||
      [ "$(psql -h 127.0.0.1 -U postgres -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" = "1" ] ||
      fail "could not create database $PG_DATABASE"
  fi
}

start_redis
start_postgres
log "ready: redis 127.0.0.1:$REDIS_PORT, postgresql 127.0.0.1:5432/$PG_DATABASE"
