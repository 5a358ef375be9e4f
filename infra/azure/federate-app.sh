#!/usr/bin/env bash
# Adds a federated identity credential trusting the broker to an Entra app registration (a policy target),
# through Microsoft Graph with the Azure CLI. Idempotent: an existing credential of that name is updated.
#
# Usage: infra/azure/federate-app.sh <app client id> <credential name> <issuer> <subject> [audience]
#   gcpMetadata:        issuer https://accounts.google.com, subject the broker service account's unique id
#   aws webIdentity:    issuer https://<id>.tokens.sts.global.api.aws, subject the broker role's ARN
#   aws cognito:        issuer https://cognito-identity.amazonaws.com, subject the IdentityId, audience the pool id
#   spiffe:             issuer SPIRE's jwt_issuer, subject the broker's SPIFFE ID
#   tokenFile:          issuer the cluster's issuer, subject system:serviceaccount:<namespace>:<name>
# The audience is api://AzureADTokenExchange unless given. Needs Application.ReadWrite.All, or ownership of
# the app. Matching is exact and case-sensitive; at most 20 credentials per app.
set -euo pipefail

if [[ $# -lt 4 || $# -gt 5 ]]; then
  sed -n '5,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
app_id="$1" name="$2" issuer="$3" subject="$4" audience="${5:-api://AzureADTokenExchange}"

# JSON built by node, so no value can break out of its string.
parameters="$(node -e 'process.stdout.write(JSON.stringify({name: process.argv[1], issuer: process.argv[2],
  subject: process.argv[3], audiences: [process.argv[4]], description: "Trusts the Entra token broker."}))' \
  "$name" "$issuer" "$subject" "$audience")"

if az ad app federated-credential show --id "$app_id" --federated-credential-id "$name" --output none 2>/dev/null; then
  echo "==> Updating federated credential $name on app $app_id (issuer $issuer, subject $subject, audience $audience)"
  az ad app federated-credential update --id "$app_id" --federated-credential-id "$name" \
    --parameters "$parameters" --output none
else
  echo "==> Creating federated credential $name on app $app_id (issuer $issuer, subject $subject, audience $audience)"
  az ad app federated-credential create --id "$app_id" --parameters "$parameters" --output none
fi
