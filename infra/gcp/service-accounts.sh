#!/usr/bin/env bash
# GCP identities of the broker and its callers, with gcloud: service accounts only, no keys, no roles.
#
#   infra/gcp/service-accounts.sh broker <project> [name]   # default name: token-broker
#   infra/gcp/service-accounts.sh caller <project> <name>
#
# Each prints the service account's email and unique id: the broker's unique id is the subject of the
# federated credential on every target (issuer https://accounts.google.com, audience
# api://AzureADTokenExchange); a caller's goes in the policy as {"kind": "google", "subject": ...}.
# Idempotent: an existing account is reused. Needs roles/iam.serviceAccountAdmin on the project.
set -euo pipefail

usage() {
  sed -n '4,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[[ $# -ge 2 ]] || usage
kind="$1" project="$2"
case "$kind" in
  broker) name="${3:-token-broker}" display="Entra token broker" ;;
  caller) [[ $# -eq 3 ]] || usage; name="$3" display="Workload calling the Entra token broker" ;;
  *) usage ;;
esac
email="$name@$project.iam.gserviceaccount.com"

if gcloud iam service-accounts describe "$email" --project "$project" --format 'value(email)' >/dev/null 2>&1; then
  echo "==> $email exists: reusing it"
else
  echo "==> Creating service account $email"
  gcloud iam service-accounts create "$name" --project "$project" --display-name "$display" \
    --description "No keys: identity tokens come from the metadata server of the compute it is attached to."
fi
unique_id="$(gcloud iam service-accounts describe "$email" --project "$project" --format 'value(uniqueId)')"

echo "email:     $email"
echo "unique id: $unique_id"
if [[ "$kind" == broker ]]; then
  cat <<EOF

Attach it to the compute the broker runs on (e.g. Cloud Run: --service-account $email); the broker then
asks the metadata server for its identity token (GCP_SERVICE_ACCOUNT=default). It needs no IAM role for that.
Federated credential for each Entra target (infra/azure/federate-app.sh, or brokerFederatedCredentials):
  issuer   https://accounts.google.com
  subject  $unique_id
  audience api://AzureADTokenExchange
EOF
else
  cat <<EOF

Attach it to the workload's compute; it needs no IAM role. The workload asks its metadata server for an ID
token whose audience is the broker's BROKER_AUDIENCE, with format=full so the token carries the email:
  curl -H 'Metadata-Flavor: Google' \\
    'http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/identity?audience=<BROKER_AUDIENCE>&format=full'
Policy caller entry (prefer the unique id: an email comes back if the account is recreated):
  {"kind": "google", "subject": "$unique_id", "email": "$email"}
EOF
fi
