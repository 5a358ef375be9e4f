// What the deployable app loads when the Functions worker imports it: the packages its function files
// import statically (the token sources' SDKs are loaded on first use), and zod only through its
// tree-shakable build. Evaluating all of zod took more than half of the app's import time (bench/README.md,
// sixth round).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BUNDLE = join(ROOT, 'dist', 'bundle');

/** The files an ES module loads before it runs (its static imports, transitively), with their text. */
function staticGraph(entries: string[]): Map<string, string> {
  const seen = new Map<string, string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const text = readFileSync(file, 'utf8');
    seen.set(file, text);
    // esbuild writes static imports at the start of a line; dynamic ones are `import("...")` calls.
    for (const match of text.matchAll(/^import\s(?:[^;"]*?\sfrom\s*)?"(\.[^"]+)"/gm))
      visit(resolve(dirname(file), match[1] as string));
  };
  for (const entry of entries) visit(entry);
  return seen;
}

/** The node_modules paths esbuild names in a file's `// node_modules/...` comments. */
const bundledModules = (text: string): string[] =>
  [...text.matchAll(/^\/\/ node_modules\/(\S+)/gm)].map((match) => match[1] as string);

const packageOf = (module: string): string => {
  const [scope, name] = module.split('/');
  return scope?.startsWith('@') ? `${scope}/${name}` : (scope as string);
};

/** Source files of the deployed app (shared/ and functions/), by path from the root. */
function appSources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) out.push(path);
    }
  };
  walk('shared');
  walk('functions');
  return out;
}

describe('the deployable app at import', () => {
  it('imports zod in one place, its tree-shakable build (shared/schema.ts); every other module imports that', () => {
    const importers = appSources().flatMap((path) =>
      [...readFileSync(join(ROOT, path), 'utf8').matchAll(/from '(zod[^']*)'/g)].map(
        (match) => `${path} ${match[1]}`,
      ),
    );
    expect([...new Set(importers)].sort()).toEqual([
      'shared/schema.ts zod/mini',
      'shared/schema.ts zod/v4/locales/en.js',
    ]);
  });

  // npm test builds before vitest runs, so dist/bundle is there.
  it('loads only its host library, jose, OpenTelemetry, croner and the pieces of zod it uses', () => {
    expect(existsSync(join(BUNDLE, 'functions', 'token.js'))).toBe(true);
    const graph = staticGraph(
      ['health', 'token', 'refreshTokens'].map((name) => join(BUNDLE, 'functions', `${name}.js`)),
    );
    const modules = [...graph.values()].flatMap(bundledModules);
    expect(new Set(modules.map(packageOf))).toEqual(
      new Set([
        '@azure/functions',
        '@azure/functions-extensions-base',
        'cookie',
        '@opentelemetry/api',
        'jose',
        'zod',
        'croner',
      ]),
    );
    const zod = modules.filter((module) => module.startsWith('zod/'));
    expect(zod.filter((module) => module.startsWith('zod/v4/classic/'))).toEqual([]);
    expect(zod.filter((module) => module.startsWith('zod/v4/locales/'))).toEqual(['zod/v4/locales/en.js']);
    // The token sources' and sinks' SDKs stay behind dynamic imports, in chunks of their own.
    const lazy = readdirSync(join(BUNDLE, 'chunks'))
      .map((name) => join(BUNDLE, 'chunks', name))
      .filter((file) => file.endsWith('.js') && !graph.has(file));
    const lazyPackages = new Set(
      lazy.flatMap((file) => bundledModules(readFileSync(file, 'utf8'))).map(packageOf),
    );
    for (const sdk of [
      '@aws-sdk/client-sts',
      '@grpc/grpc-js',
      '@azure/storage-blob',
      '@azure/keyvault-secrets',
    ])
      expect(lazyPackages, `${sdk} in a chunk loaded on first use`).toContain(sdk);
  });
});
