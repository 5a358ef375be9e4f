#!/usr/bin/env bash
# Builds the bundle, packs it with the policy, deploys infra/azure/main.bicep and then the package to the
# Flex Consumption app. Prints each step; never prints a secret (the cache key goes to Key Vault from a file).
#
# Usage (from anywhere; Azure CLI signed in with `az login`):
#   RESOURCE_GROUP=rg-broker LOCATION=westeurope POLICY_FILE=./policy.json \
#   PARAMS_FILE=./my.bicepparam infra/azure/deploy.sh
# Optional: SKIP_BUILD=1 (reuse dist/bundle), CREATE_CACHE_KEY=0 (leave the cache key secret alone),
#   DEPLOYER_OBJECT_ID (who may add the first cache key version; the signed-in user by default). It goes to
#   the template as deployerPrincipalId, apart from the params file's secretsOfficerPrincipalIds, which it
#   never replaces. The cache key is added only when the deployment sets TOKEN_CACHE_KEY_SECRET_URL
#   (a brokerVaultTarget and the shared cache tier on).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

: "${RESOURCE_GROUP:?set RESOURCE_GROUP to the resource group to deploy into}"
: "${POLICY_FILE:?set POLICY_FILE to the broker policy JSON (it goes into the package as policy.json)}"
PARAMS_FILE="${PARAMS_FILE:-infra/azure/main.bicepparam}"
DEPLOYMENT_NAME="${DEPLOYMENT_NAME:-token-broker}"

step() { printf '\n==> %s\n' "$*"; }

for tool in az node npm; do
  command -v "$tool" >/dev/null || { echo "deploy: $tool is not on PATH" >&2; exit 1; }
done

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  step "Building: npm ci && npm run build (writes dist/bundle)"
  npm ci
  npm run build
fi

step "Packaging dist/bundle and $POLICY_FILE into dist/broker.zip"
node infra/package.mjs --bundle dist/bundle --out dist/broker.zip --policy "$POLICY_FILE"

if [[ -n "${LOCATION:-}" ]]; then
  step "Ensuring resource group $RESOURCE_GROUP in $LOCATION"
  az group create --name "$RESOURCE_GROUP" --location "$LOCATION" --output none
fi

deployer="${DEPLOYER_OBJECT_ID:-}"
if [[ -z "$deployer" && "${CREATE_CACHE_KEY:-1}" == 1 ]]; then
  # A user signed in; a service principal sets DEPLOYER_OBJECT_ID itself.
  deployer="$(az ad signed-in-user show --query id --output tsv 2>/dev/null || true)"
fi
deployer_parameter=()
[[ -n "$deployer" ]] && deployer_parameter=(--parameters "deployerPrincipalId=$deployer")

step "Deploying infra/azure/main.bicep with $PARAMS_FILE into $RESOURCE_GROUP (deployment $DEPLOYMENT_NAME)"
az deployment group create \
  --resource-group "$RESOURCE_GROUP" \
  --name "$DEPLOYMENT_NAME" \
  --template-file infra/azure/main.bicep \
  --parameters "$PARAMS_FILE" \
  ${deployer_parameter[@]+"${deployer_parameter[@]}"} \
  --output none

output() {
  az deployment group show --resource-group "$RESOURCE_GROUP" --name "$DEPLOYMENT_NAME" \
    --query "properties.outputs.$1.value" --output tsv
}
app="$(output functionAppName)"
vault="$(output keyVaultName)"
# Empty unless the deployment set TOKEN_CACHE_KEY_SECRET_URL (a brokerVaultTarget and the shared cache tier on).
key_secret="$(output cacheKeySecretName)"

# RBAC assignments take a few minutes to reach Key Vault, so a refusal (403) is retried for up to 5 minutes.
is_refusal() { grep -qE 'Forbidden|not authorized|Unauthorized' <<<"$1"; }

if [[ "${CREATE_CACHE_KEY:-1}" == 1 && -n "$key_secret" ]]; then
  # Only "no such secret" means absent: any other failure stops here, since adding a version would rotate the key.
  key_state=""
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if error="$(az keyvault secret show --vault-name "$vault" --name "$key_secret" --query id --output none 2>&1)"; then
      key_state=present
      break
    fi
    if grep -q 'SecretNotFound' <<<"$error"; then
      key_state=absent
      break
    fi
    if ! is_refusal "$error" || [[ "$attempt" == 10 ]]; then
      echo "deploy: could not tell whether $key_secret in $vault has a version, so no key was added: $error" >&2
      echo "deploy: fix the cause (e.g. grant yourself Key Vault Secrets Officer) and rerun with SKIP_BUILD=1" >&2
      exit 1
    fi
    echo "    Key Vault refused to read $key_secret (role assignment not active yet?); retrying in 30 s"
    sleep 30
  done
  if [[ "$key_state" == present ]]; then
    step "Cache key secret $key_secret already has a version: left as is (rotate: README, Many instances)"
  else
    step "Adding the first version of $key_secret (32 random bytes, base64) to $vault"
    key_file="$(mktemp)"
    trap 'rm -f "$key_file"' EXIT
    chmod 600 "$key_file"
    # From a file, so the value never appears in a process list or in this script's output.
    node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("base64"))' >"$key_file"
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
      if error="$(az keyvault secret set --vault-name "$vault" --name "$key_secret" --file "$key_file" \
        --encoding utf-8 --content-type 'base64 of 32 random bytes' --output none 2>&1)"; then
        break
      fi
      if ! is_refusal "$error" || [[ "$attempt" == 10 ]]; then
        echo "deploy: could not write $key_secret: $error" >&2
        echo "deploy: grant yourself Key Vault Secrets Officer if Key Vault refused, and rerun with SKIP_BUILD=1" >&2
        exit 1
      fi
      echo "    Key Vault refused (role assignment not active yet?); retrying in 30 s"
      sleep 30
    done
    rm -f "$key_file"
  fi
fi

step "Deploying dist/broker.zip to $app (Flex Consumption one deploy, no remote build)"
az functionapp deployment source config-zip \
  --resource-group "$RESOURCE_GROUP" \
  --name "$app" \
  --src dist/broker.zip \
  --build-remote false \
  --output none

url="$(output brokerUrl)"
step "Done. Broker: $url (check $url/api/health and $url/api/ready)"
echo "Outputs: az deployment group show -g $RESOURCE_GROUP -n $DEPLOYMENT_NAME --query properties.outputs"
