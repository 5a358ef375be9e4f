// Finds and imports a function app's entry points the way the Node worker does: package.json `main`, globbed.
import { glob as fsGlob, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AppRegistry } from './appRegistry.js';
import { loadInto } from './coreApi.js';

/** What the host reads from the app root before loading any code. */
export interface AppConfig {
  appRoot: string;
  /** package.json `main`: a file or a glob such as `dist/functions/*.js`. */
  main: string;
  /** package.json `type`; decides ESM vs CommonJS for `.js` files, as in the worker. */
  type: string | undefined;
  /** host.json `extensions.http.routePrefix`, `api` when absent; may be empty. */
  routePrefix: string;
}

async function readJsonObject(file: string, what: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Error(`${what} at ${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new Error(`${what} at ${file} is not a JSON object`);
  }
  return data as Record<string, unknown>;
}

/** Reads package.json (required, with a string `main`) and host.json (optional) of an app root. */
export async function readAppConfig(appRoot: string): Promise<AppConfig> {
  const root = path.resolve(appRoot);
  const pkg = await readJsonObject(path.join(root, 'package.json'), 'package.json');
  if (!pkg) throw new Error(`no package.json in the function app root ${root}`);
  if (typeof pkg.main !== 'string' || pkg.main === '') {
    // The worker would fall back to function.json indexing, which this host does not do.
    throw new Error(`package.json in ${root} has no "main" entry point (e.g. "dist/functions/*.js")`);
  }
  const hostJson = await readJsonObject(path.join(root, 'host.json'), 'host.json');
  const extensions = hostJson?.extensions as { http?: { routePrefix?: unknown } } | undefined;
  const prefix = extensions?.http?.routePrefix;
  if (prefix !== undefined && typeof prefix !== 'string') {
    throw new Error(`host.json in ${root}: extensions.http.routePrefix must be a string`);
  }
  return {
    appRoot: root,
    main: pkg.main,
    type: typeof pkg.type === 'string' ? pkg.type : undefined,
    routePrefix: (prefix ?? 'api').replace(/^\/+|\/+$/g, ''),
  };
}

const globMagic = /[*?[\]{}]/;

/**
 * Expands `main` relative to the app root into absolute paths, sorted for a stable load order.
 * Errors carry the worker's wording (startApp.ts: "Found zero files matching the supplied pattern").
 */
export async function expandMain(appRoot: string, main: string): Promise<string[]> {
  const files: string[] = [];
  for await (const match of fsGlob(main, { cwd: appRoot })) files.push(path.resolve(appRoot, match));
  if (files.length === 0) {
    const reason = globMagic.test(main)
      ? 'Found zero files matching the supplied pattern'
      : 'File does not exist';
    throw new Error(`Worker was unable to load entry point "${main}": ${reason}`);
  }
  return files.sort();
}

/** The worker's rule (loadScriptFile.ts): `.mjs` is ESM, `.cjs` is CommonJS, else package.json `type`. */
export function isEsModule(file: string, type: string | undefined): boolean {
  if (file.endsWith('.mjs')) return true;
  if (file.endsWith('.cjs')) return false;
  return type === 'module';
}

let generation = 0;

/**
 * Imports every entry point with `app` as the target of the registrations they make.
 *
 * Each load gets a fresh module instance (a `?localHost=<n>` query for ESM, a cleared require cache
 * entry for CommonJS) so a second host in the same process, such as a test starting the same app
 * twice, sees the registrations again; the real worker loads an app once per process, so this
 * changes nothing for a single host. Under vitest the `import()` below is routed through vitest's
 * module runner, which also transforms `.ts` entry points; under plain Node it is Node's own loader.
 */
export async function loadEntryPoints(app: AppRegistry, config: AppConfig, files: string[]): Promise<void> {
  generation += 1;
  const requireFromApp = createRequire(path.join(config.appRoot, 'package.json'));
  await loadInto(app, async () => {
    for (const file of files) {
      app.currentEntryPoint = file;
      try {
        if (isEsModule(file, config.type)) {
          await import(`${pathToFileURL(file).href}?localHost=${generation}`);
        } else {
          delete requireFromApp.cache[file];
          requireFromApp(file);
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(
          `Worker was unable to load entry point "${path.relative(config.appRoot, file)}": ${message}`,
          {
            cause: error,
          },
        );
      } finally {
        app.currentEntryPoint = undefined;
      }
    }
  });
}
