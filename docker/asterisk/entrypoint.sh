#!/usr/bin/env bash
# Entrypoint of the Asterisk image: render our config set from the environment, then run
# Asterisk in the foreground as the unprivileged asterisk user.
set -euo pipefail

: "${IPCC_ARI_PASSWORD:?set IPCC_ARI_PASSWORD (the ARI password the server uses)}"
export IPCC_ARI_USER=${IPCC_ARI_USER:-ipcc}
export IPCC_ARI_APP=${IPCC_ARI_APP:-ipcc}
export IPCC_ARI_BIND=${IPCC_ARI_BIND:-127.0.0.1}
export IPCC_ARI_PORT=${IPCC_ARI_PORT:-8088}
export IPCC_SIP_BIND=${IPCC_SIP_BIND:-127.0.0.1}
export IPCC_SIP_PORT=${IPCC_SIP_PORT:-5060}
export IPCC_RTP_START=${IPCC_RTP_START:-10000}
export IPCC_RTP_END=${IPCC_RTP_END:-19999}
# Empty: no test-caller endpoint (set it only on test systems).
export IPCC_TEST_CALLER_IP=${IPCC_TEST_CALLER_IP:-}

for dir in "$IPCC_AST_RUN_DIR" "$IPCC_AST_SPOOL_DIR/recording" "$IPCC_AST_SPOOL_DIR/outgoing" \
  "$IPCC_AST_SPOOL_DIR/tmp" "$IPCC_AST_LIB_DIR/keys" "$IPCC_AST_LOG_DIR" "$IPCC_AST_CACHE_DIR"; do
  mkdir -p "$dir"
done
chown -R asterisk:asterisk "$IPCC_AST_RUN_DIR" "$IPCC_AST_SPOOL_DIR" "$IPCC_AST_LIB_DIR" \
  "$IPCC_AST_LOG_DIR" "$IPCC_AST_CACHE_DIR"

/opt/ipcc-asterisk/render.sh "$IPCC_AST_ETC_DIR"
chmod 0750 "$IPCC_AST_ETC_DIR"
chown -R root:asterisk "$IPCC_AST_ETC_DIR"
chmod 0640 "$IPCC_AST_ETC_DIR"/*.conf

exec asterisk -C "$IPCC_AST_ETC_DIR/asterisk.conf" -f -n -U asterisk -G asterisk
