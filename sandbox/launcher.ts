// `npm start`: runs the sandbox (every stand-in and the broker on the local Functions host) until
// Ctrl-C, printing where everything is and how to try it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_APP_ROOT, servedApp } from './lib/appRoot.js';
import { brokerOnFromEnv, portsFromEnv, type SandboxEndpoints, startSandbox } from './sandbox.js';

function tryIt(e: SandboxEndpoints, app: string): string {
  const vm = `http://${e.gcp.callerVm.metadataHost}/computeMetadata/v1/instance/service-accounts/default/identity`;
  return `
Sandbox is up. Endpoints and a workload's environment: .sandbox/endpoints.json

  broker            ${e.broker.url}/api/{health,ready,token}   (audience ${e.broker.audience})
  broker app        ${app}${app === DEFAULT_APP_ROOT ? '   (the deployable bundle; SANDBOX_APP_ROOT=. serves dist/functions)' : ''}
  Entra stand-in    ${e.entra.authorityHost}   tenant ${e.entra.tenantId}   admin ${e.entra.adminUrl}
  Google issuer     ${e.google.discoveryUrl}
  broker VM         GCE_METADATA_HOST=${e.gcp.brokerVm.metadataHost}  (${e.gcp.brokerVm.serviceAccount})
  caller VM         GCE_METADATA_HOST=${e.gcp.callerVm.metadataHost}  (${e.gcp.callerVm.serviceAccount})
  AWS STS           ${e.aws.stsEndpoint}   Cognito ${e.aws.cognitoEndpoint}   region ${e.aws.region}
  broker runs on    ${e.aws.brokerTokenSource ? `AWS (its assertion from ${e.aws.brokerTokenSource})` : 'GCP (its assertion from the broker VM)'}

Try it, as the demo caller on its GCP VM:

  ID_TOKEN=$(curl -s -H 'Metadata-Flavor: Google' '${vm}?audience=${e.broker.audience}&format=full')
  curl -s ${e.broker.tokenUrl} \\
    -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\
    -d subject_token_type=urn:ietf:params:oauth:token-type:jwt \\
    --data-urlencode subject_token="$ID_TOKEN" \\
    -d audience=${e.demo.target} -d scope=${e.demo.scope}

  curl -s ${e.entra.adminUrl}/counters      # how many exchanges Entra really saw

As the demo AWS caller (role ${e.aws.callerRole.arn}), with the SDK's signer:

  R=.aws.callerRole; E=${path.join(path.dirname(e.caCertificate), 'endpoints.json')}   # needs jq
  AWS_ACCESS_KEY_ID=$(jq -r $R.accessKeyId $E) AWS_SECRET_ACCESS_KEY=$(jq -r $R.secretAccessKey $E) \\
  AWS_SESSION_TOKEN=$(jq -r $R.sessionToken $E) AWS_EC2_METADATA_DISABLED=true \\
  NODE_EXTRA_CA_CERTS=${e.caCertificate} node --input-type=module -e "
    import { createAwsSubjectToken } from './dist/shared/client/awsSubjectToken.js';
    const token = await createAwsSubjectToken({ brokerAudience: '${e.broker.audience}', region: '${e.aws.region}', stsEndpoint: '${e.aws.stsEndpoint}' });
    const body = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request', subject_token: token, audience: '${e.demo.target}', scope: '${e.demo.scope}' });
    console.log(await (await fetch('${e.broker.tokenUrl}', { method: 'POST', body })).json());"

Ctrl-C stops everything.
`;
}

async function main(): Promise<void> {
  const appRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const stateDir = path.resolve(appRoot, process.env.SANDBOX_DIR ?? '.sandbox');
  if (process.env.SANDBOX_TELEMETRY_FILE) {
    const { captureTelemetry } = await import('./telemetryCapture.js');
    captureTelemetry(process.env.SANDBOX_TELEMETRY_FILE);
  }
  const app = servedApp(appRoot);
  const sandbox = await startSandbox({
    appRoot,
    functionApp: app.root,
    stateDir,
    ports: portsFromEnv(process.env),
    brokerOn: brokerOnFromEnv(process.env),
    timers: process.env.SANDBOX_TIMERS !== 'off',
  });
  process.stdout.write(tryIt(sandbox.endpoints, app.name));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping the sandbox\n`);
    sandbox.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(`sandbox failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
