#!/usr/bin/env bash
# Starts or stops a throwaway local Redis Cluster (3 masters, no replicas, no persistence) for
# the Cluster tests of vonage-messenger/redis.
#
#   scripts/redis-cluster.sh start [first-port]   # default 7101 -> ports 7101 7102 7103
#   scripts/redis-cluster.sh stop  [first-port]
#
# Idempotent: start on a running cluster only waits for it to be healthy; stop on a stopped one
# does nothing. Data lives in a temp dir that stop removes.
set -euo pipefail

action="${1:-}"
first="${2:-7101}"
ports=("$first" "$((first + 1))" "$((first + 2))")
dir="${TMPDIR:-/tmp}/vonage-messenger-redis-cluster-$first"

answers() { redis-cli -h 127.0.0.1 -p "$1" ping >/dev/null 2>&1; }

cluster_ok() {
  redis-cli -h 127.0.0.1 -p "$first" cluster info 2>/dev/null | tr -d '\r' | grep -q '^cluster_state:ok$'
}

wait_for() { # wait_for <what> <command...>: bounded (10 s)
  local what="$1"
  shift
  for _ in $(seq 1 100); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  echo "redis-cluster.sh: timed out waiting for $what" >&2
  return 1
}

start() {
  command -v redis-server >/dev/null || { echo "redis-cluster.sh: redis-server not found (apt-get install redis-server)" >&2; exit 1; }
  if cluster_ok; then
    echo "redis cluster already running on ${ports[*]}"
    return 0
  fi
  mkdir -p "$dir"
  for port in "${ports[@]}"; do
    if answers "$port"; then continue; fi
    redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
      --cluster-config-file "$dir/nodes-$port.conf" --cluster-node-timeout 2000 \
      --save "" --appendonly no --dir "$dir" --logfile "$dir/redis-$port.log" \
      --pidfile "$dir/redis-$port.pid" --daemonize yes
  done
  for port in "${ports[@]}"; do wait_for "redis on port $port" answers "$port"; done
  local known
  known=$(redis-cli -h 127.0.0.1 -p "$first" cluster info | tr -d '\r' | sed -n 's/^cluster_known_nodes://p')
  if [ "$known" != "3" ]; then
    redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 || {
      cat "$dir/create.log" >&2
      exit 1
    }
  fi
  wait_for "cluster_state:ok" cluster_ok
  for port in "${ports[@]}"; do
    wait_for "port $port to see the cluster" bash -c \
      "redis-cli -h 127.0.0.1 -p $port cluster info | tr -d '\r' | grep -q '^cluster_state:ok$'"
  done
  echo "redis cluster running on ${ports[*]}"
}

stop() {
  for port in "${ports[@]}"; do
    if answers "$port"; then redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true; fi
  done
  for port in "${ports[@]}"; do
    wait_for "redis on port $port to stop" bash -c "! redis-cli -h 127.0.0.1 -p $port ping >/dev/null 2>&1"
  done
  rm -rf "$dir"
  echo "redis cluster on ${ports[*]} stopped"
}

case "$action" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop [first-port]" >&2
    exit 2
    ;;
esac
