// Bundles the compiled function app (dist/functions) into dist/bundle, the deployable app (npm run bundle,
// run by npm run build): the three function files and everything they import, in ES modules with shared
// chunks, so each token source's SDK is loaded only when the policy uses it. Only @azure/functions-core
// stays external: the Functions Node worker provides it. The folder is emptied first, so no chunk of an
// earlier build is deployed with this one.
// @azure/functions itself is compiled from its sources for Node 24 (infra/functionsLibrary.mjs says why).
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { functionsLibraryOptions } from './functionsLibrary.mjs';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const out = join(root, 'dist/bundle');
const functions = ['health', 'token', 'refreshTokens'].map((name) => join(root, `dist/functions/${name}.js`));

rmSync(out, { recursive: true, force: true });
await build({
  // Paths in the output (and so the chunks' hashes) are relative to this, wherever the script runs from.
  absWorkingDir: root,
  entryPoints: functions,
  bundle: true,
  platform: 'node',
  format: 'esm',
  splitting: true,
  outdir: out,
  entryNames: 'functions/[name]',
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
  ...functionsLibraryOptions,
  // Some bundled packages are CommonJS and call require() for Node's built-ins; an ES module has none.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
// The Workload API's protocol file is read at run time, next to the chunk that loads it.
mkdirSync(join(out, 'chunks'), { recursive: true });
cpSync(join(root, 'shared/sources/workload.proto'), join(out, 'chunks/workload.proto'));
cpSync(join(root, 'host.json'), join(out, 'host.json'));
writeFileSync(
  join(out, 'package.json'),
  JSON.stringify({ name: 'entra-token-broker-bundle', type: 'module', main: 'functions/*.js' }, null, 2),
);
