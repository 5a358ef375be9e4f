#!/usr/bin/env bash
# SPIRE registration entries for the broker (its own assertion, source "spiffe") and for one caller, run on
# a SPIRE server. Prints each command before it runs; DRY_RUN=1 only prints. See infra/README.md, "SPIRE".
#
# Environment (defaults in brackets):
#   BROKER_TRUST_DOMAIN   the broker's trust domain [broker.example.org]
#   BROKER_PATH           path of the broker's SPIFFE ID [/token-broker]
#   BROKER_PARENT_ID      SPIFFE ID of the agent (or node alias) the broker runs under (required)
#   BROKER_SELECTORS      space-separated selectors of the broker's workload, e.g. "k8s:ns:broker k8s:sa:token-broker" (required)
#   CALLER_TRUST_DOMAIN   the callers' trust domain, federated with the broker's [workloads.example.org]
#   CALLER_PATH, CALLER_PARENT_ID, CALLER_SELECTORS   one caller entry (skipped when CALLER_PARENT_ID is empty);
#                         run this script on the callers' SPIRE server when it is not the broker's
#   SPIRE_SERVER_SOCKET   the server's admin socket [/tmp/spire-server/private/api.sock]
set -euo pipefail

BROKER_TRUST_DOMAIN="${BROKER_TRUST_DOMAIN:-broker.example.org}"
BROKER_PATH="${BROKER_PATH:-/token-broker}"
: "${BROKER_PARENT_ID:?set BROKER_PARENT_ID to the SPIFFE ID of the agent or node alias the broker runs under}"
: "${BROKER_SELECTORS:?set BROKER_SELECTORS to the selectors of the broker workload}"
CALLER_TRUST_DOMAIN="${CALLER_TRUST_DOMAIN:-workloads.example.org}"
CALLER_PATH="${CALLER_PATH:-/ns/payments/sa/api}"
SPIRE_SERVER_SOCKET="${SPIRE_SERVER_SOCKET:-/tmp/spire-server/private/api.sock}"

run() {
  printf '==> %s\n' "$*"
  [[ "${DRY_RUN:-0}" == 1 ]] || "$@"
}

selector_flags() {
  local flags=() selector
  for selector in $1; do flags+=(-selector "$selector"); done
  printf '%s\n' "${flags[@]}"
}

# The broker's SVIDs are for Entra, which checks them against SPIRE's OIDC discovery provider: they must be
# RS256 (jwt_key_type = "rsa-2048" on the server) and live at most Entra's assertion lifetime. Five minutes
# is SPIRE's default; the broker asks again before expiry.
mapfile -t broker_selectors < <(selector_flags "$BROKER_SELECTORS")
run spire-server entry create \
  -socketPath "$SPIRE_SERVER_SOCKET" \
  -spiffeID "spiffe://$BROKER_TRUST_DOMAIN$BROKER_PATH" \
  -parentID "$BROKER_PARENT_ID" \
  "${broker_selectors[@]}" \
  -jwtSVIDTTL 300 \
  -federatesWith "spiffe://$CALLER_TRUST_DOMAIN"

if [[ -n "${CALLER_PARENT_ID:-}" ]]; then
  : "${CALLER_SELECTORS:?set CALLER_SELECTORS to the selectors of the caller workload}"
  mapfile -t caller_selectors < <(selector_flags "$CALLER_SELECTORS")
  # The caller's SVIDs go only to the broker, which accepts ES256: the trust domain's default keys are fine.
  run spire-server entry create \
    -socketPath "$SPIRE_SERVER_SOCKET" \
    -spiffeID "spiffe://$CALLER_TRUST_DOMAIN$CALLER_PATH" \
    -parentID "$CALLER_PARENT_ID" \
    "${caller_selectors[@]}" \
    -jwtSVIDTTL 300
fi

cat <<EOF

Federated credential on each Entra target whose policy source is "spiffe":
  issuer   the broker server's jwt_issuer (served by SPIRE's OIDC discovery provider over public https)
  subject  spiffe://$BROKER_TRUST_DOMAIN$BROKER_PATH
  audience api://AzureADTokenExchange
Policy caller entry:
  {"kind": "spiffe", "trustDomain": "$CALLER_TRUST_DOMAIN", "path": "$CALLER_PATH"}
Broker settings: SPIFFE_ENDPOINT_SOCKET (its agent's Workload API) and SPIFFE_TRUST_DOMAINS, e.g.
  [{"trustDomain": "$CALLER_TRUST_DOMAIN", "workloadApi": true}]
EOF
