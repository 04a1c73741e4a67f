#!/usr/bin/env bash
# Quick start for development: bring up the local stack (MariaDB, Redis, Asterisk 22 from a
# cached Debian sid root) and run the server against it, migrating the database on start.
#
#   bash bin/dev.sh                 # stack up + server on http://127.0.0.1:8080 (docs at /docs)
#   bash bin/dev.sh ipcc ARGS...    # run the ipcc CLI with the same settings,
#                                   # e.g. bash bin/dev.sh ipcc admin create --username admin
#
# Development secrets are generated once and kept beside the stack, outside the work tree.
# Any IPCC_* setting already in the environment wins (see config/env.example).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[[ -d node_modules ]] || npm ci --no-audit --no-fund

env_file=$(bash docker/local/stack.sh up)
get() { sed -n "s/^$1=//p" "$env_file" | tail -n 1; }

stack_dir=${IPCC_STACK_DIR:-/var/cache/ipcc-stack}
secret_file=$stack_dir/dev-token-secret
if [[ ! -s $secret_file ]]; then
  umask 077
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$secret_file"
fi

ari_url=$(get IPCC_ARI_URL)
export IPCC_AUTH_TOKEN_SECRET=${IPCC_AUTH_TOKEN_SECRET:-$(<"$secret_file")}
export IPCC_ASTERISK_SERVERS=${IPCC_ASTERISK_SERVERS:-main=http://$(get IPCC_ARI_USER):$(get IPCC_ARI_PASSWORD)@${ari_url#http://}}
export IPCC_ARI_APP=${IPCC_ARI_APP:-$(get IPCC_ARI_APP)}
export IPCC_MYSQL_URL=${IPCC_MYSQL_URL:-mysql://root@127.0.0.1:3306/ipcc}
export IPCC_MIGRATE_ON_START=${IPCC_MIGRATE_ON_START:-true}

if [[ ${1:-} == ipcc ]]; then
  shift
  exec node bin/ipcc.js "$@"
fi

node bin/ipcc.js migrate >&2
echo "[dev] API on http://${IPCC_HTTP_HOST:-127.0.0.1}:${IPCC_HTTP_PORT:-8080} (docs at /docs)." >&2
echo "[dev] No admin yet? In another terminal: bash bin/dev.sh ipcc admin create --username admin" >&2
exec node --import tsx server/main.ts
