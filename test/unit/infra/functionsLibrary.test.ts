// The deployable bundle's @azure/functions is compiled from the package's own TypeScript sources for
// Node 24 (infra/functionsLibrary.mjs): native private fields instead of the WeakMap helpers of the
// package's ES2015 build. Here: that build is what the bundle holds, and it is the same library: the same
// exports, and the same request, response and context objects from the same inputs.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Functions from '@azure/functions';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionsLibraryOptions } from '../../../infra/functionsLibrary.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const require = createRequire(join(ROOT, 'package.json'));
/** The package's own build (dist/), what `npm i @azure/functions` gives every other app. */
const published = require('@azure/functions') as typeof Functions;
const helpers = /__classPrivateField(Get|Set|In)|__privateGet|__privateSet|__privateAdd/;

let work: string;
let fromSource: typeof Functions;
let fromSourceText: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'functions-library-'));
  const outfile = join(work, 'functions.cjs');
  await build({
    absWorkingDir: ROOT,
    stdin: { contents: "export * from '@azure/functions';", resolveDir: ROOT, loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile,
    logLevel: 'silent',
    ...functionsLibraryOptions,
  });
  fromSourceText = readFileSync(outfile, 'utf8');
  fromSource = createRequire(outfile)(outfile) as typeof Functions;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** What a response object says about itself, through the library's public API. */
async function responseFacts(library: typeof Functions) {
  const response = new library.HttpResponse({
    status: 201,
    jsonBody: { granted: true, scope: 'a b' },
    headers: { 'cache-control': 'no-store', 'x-one': '1' },
    cookies: [{ name: 'c', value: 'v', httpOnly: true }],
  });
  const clone = response.clone();
  return {
    status: response.status,
    headers: [...response.headers.entries()],
    cookies: response.cookies,
    body: await response.json(),
    bodyUsed: response.bodyUsed,
    cloneBody: await clone.text(),
  };
}

async function requestFacts(library: typeof Functions) {
  const request = new library.HttpRequest({
    method: 'POST',
    url: 'http://127.0.0.1/api/token?debug=1&debug=2',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-ms-client-principal-id': 'p' },
    body: { string: 'grant_type=x&audience=y' },
    params: { name: 'token' },
  });
  return {
    method: request.method,
    url: request.url,
    query: request.query.getAll('debug'),
    headers: [...request.headers.entries()],
    params: request.params,
    user: request.user,
    form: [...(await request.clone().formData()).entries()],
    text: await request.text(),
    bodyUsed: request.bodyUsed,
  };
}

function contextFacts(library: typeof Functions) {
  const lines: unknown[][] = [];
  const context = new library.InvocationContext({
    invocationId: 'id-1',
    functionName: 'token',
    logHandler: (level, ...args) => lines.push([level, ...args]),
    retryContext: { retryCount: 1, maxRetryCount: 3 },
  });
  context.log('one');
  context.warn('two', 2);
  context.extraOutputs.set(library.output.generic({ type: 'x', name: 'out' }), 'v');
  return {
    invocationId: context.invocationId,
    functionName: context.functionName,
    retryContext: context.retryContext,
    triggerMetadata: context.triggerMetadata,
    lines,
    extraOutput: context.extraOutputs.get(library.output.generic({ type: 'x', name: 'out' })),
  };
}

describe('@azure/functions compiled from its sources for the bundle', () => {
  it('keeps private fields native: none of the WeakMap helpers of the ES2015 build', () => {
    expect(readFileSync(require.resolve('@azure/functions'), 'utf8')).toMatch(helpers);
    expect(fromSourceText).not.toMatch(helpers);
    expect(fromSourceText).toContain('#coreCtx');
  });

  it('is the build the deployable bundle holds', () => {
    const chunks = join(ROOT, 'dist', 'bundle', 'chunks');
    const texts = readdirSync(chunks)
      .filter((name) => name.endsWith('.js'))
      .map((name) => readFileSync(join(chunks, name), 'utf8'));
    const library = texts.filter((text) => text.includes('// node_modules/@azure/functions/'));
    expect(library.length).toBeGreaterThan(0);
    for (const text of library) {
      expect(text).toContain('// node_modules/@azure/functions/src/');
      expect(text).not.toContain('// node_modules/@azure/functions/dist/');
      expect(text).not.toMatch(helpers);
    }
  });

  it('exports the same names, of the same kinds, as the published build', () => {
    const kinds = (library: object) =>
      Object.fromEntries(Object.entries(library).map(([name, value]) => [name, typeof value]));
    expect(Object.keys(fromSource).sort()).toEqual(Object.keys(published).sort());
    expect(kinds(fromSource)).toEqual(kinds(published));
    expect(Object.keys(fromSource.app).sort()).toEqual(Object.keys(published.app).sort());
  });

  it('builds the same responses, requests and invocation contexts from the same inputs', async () => {
    expect(await responseFacts(fromSource)).toEqual(await responseFacts(published));
    expect(await requestFacts(fromSource)).toEqual(await requestFacts(published));
    expect(contextFacts(fromSource)).toEqual(contextFacts(published));
    // And the facts are about something: the response and request say what they were given.
    expect((await responseFacts(fromSource)).status).toBe(201);
    expect((await requestFacts(fromSource)).text).toBe('grant_type=x&audience=y');
  });
});
