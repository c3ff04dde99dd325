#!/usr/bin/env bash
# Restart the Daphne processes of `docker compose` one at a time, losing nothing: each gets
# SIGTERM and drains (its sockets reconnect through nginx to the others, its answers finish
# within CHAT_DRAIN_SECONDS), and the next one goes only once the new one is ready (/readyz).
#
#   deploy/rolling-restart.sh          restart the running containers, same image
#   deploy/rolling-restart.sh --new    deploy a new version: build, migrate, start as many new
#                                      containers as run now, then retire the old ones one by one
#
# Migrations of a new version must suit the old code too: old processes serve until retired.
set -euo pipefail
cd "$(dirname "$0")/.."

GRACE="${STOP_GRACE:-45}"  # seconds docker waits before SIGKILL (docker-compose.yml: stop_grace_period)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

wait_healthy() {  # wait_healthy <container id>...
  local id status
  for id in "$@"; do
    for _ in $(seq 1 120); do
      status="$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$id")"
      [ "$status" = healthy ] && continue 2
      sleep 1
    done
    echo "container $id is not healthy after 120 s (status: $status)" >&2
    exit 1
  done
}

reload_nginx() {  # nginx resolves `web` again: containers that came or went, new addresses
  docker compose exec -T nginx nginx -s reload
}

mapfile -t old < <(docker compose ps -q web)
[ "${#old[@]}" -gt 0 ] || { echo "no web container runs: docker compose up -d first" >&2; exit 1; }

if [ "${1:-}" = "--new" ]; then
  say "building the new version"
  docker compose build
  say "migrating (once)"
  docker compose run --rm migrate
  say "starting ${#old[@]} new web container(s) beside the old ones"
  docker compose up -d --no-deps --no-recreate --scale "web=$(( ${#old[@]} * 2 ))" web
  mapfile -t all < <(docker compose ps -q web)
  new=()
  for id in "${all[@]}"; do
    [[ " ${old[*]} " == *" $id "* ]] || new+=("$id")
  done
  wait_healthy "${new[@]}"
  reload_nginx
  for id in "${old[@]}"; do
    say "retiring $(docker inspect -f '{{.Name}}' "$id") (it drains first)"
    docker stop -t "$GRACE" "$id" >/dev/null
    docker rm "$id" >/dev/null
    reload_nginx
  done
  docker compose up -d --no-deps --no-recreate --scale "web=${#old[@]}" web
else
  for id in "${old[@]}"; do
    say "restarting $(docker inspect -f '{{.Name}}' "$id") (it drains first)"
    docker restart -t "$GRACE" "$id" >/dev/null
    wait_healthy "$id"
    reload_nginx  # a restarted container may come back on another address
  done
fi
say "done: $(docker compose ps -q web | wc -l) web container(s)"
