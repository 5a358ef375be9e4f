// Packs the esbuild bundle (dist/bundle) into one zip for Azure Functions zip deploy (npm run package).
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { zipSync } from 'fflate';

// Packages the Functions Node worker provides at run time; the bundle leaves them external.
const HOST_PROVIDED_PACKAGES = ['@azure/functions-core'];

/** The package refuses to build; the message says what to do. */
export class PackageError extends Error {
  constructor(message) {
    super(message);
    this.name = 'PackageError';
  }
}

// Every entry gets the same time, so the same bundle gives the same zip, byte for byte.
const FIXED_TIME = new Date(2000, 0, 1);

/**
 * A zip archive holding `entries` in the order given (fflate's zipSync: deflate, UTF-8 names, the fixed
 * time, made by Unix, regular files rw-r--r--), each at its `/`-separated path. Names must be unique.
 */
function zipEntries(entries) {
  const files = {};
  for (const { name, data } of entries)
    files[name] = new Uint8Array(data.buffer, data.byteOffset, data.length);
  const archive = zipSync(files, { level: 9, mtime: FIXED_TIME, os: 3, attrs: (0o100644 << 16) >>> 0 });
  return Buffer.from(archive.buffer, archive.byteOffset, archive.length);
}

/**
 * Every regular file under `dir`, as `/`-separated paths relative to it, sorted. Refuses a symbolic link:
 * esbuild writes none, and following one could pack a file from outside the bundle.
 */
function listFiles(dir) {
  const files = [];
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isSymbolicLink()) throw new PackageError(`${path} is a symbolic link: the bundle holds none`);
    if (entry.isFile()) files.push(relative(dir, path).split(sep).join('/'));
  }
  return files.sort();
}

const BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
// Static imports at the start of a line (esbuild's output), its __require() of externals, dynamic imports.
const IMPORT_PATTERNS = [
  /^\s*import\s[^;]*?\sfrom\s*["']([^"']+)["']/gm,
  /^\s*import\s*["']([^"']+)["']/gm,
  /\b__require\(\s*["']([^"']+)["']\s*\)/g,
  /\bimport\(\s*["']([^"']+)["']\s*\)/g,
];

/** The package name of a bare specifier (`@scope/name/sub` → `@scope/name`), or undefined for a path. */
function packageName(specifier) {
  if (specifier.startsWith('.') || specifier.startsWith('/') || BUILTINS.has(specifier)) return undefined;
  if (specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * The packages the bundle's JavaScript imports that are neither Node built-ins nor provided by the
 * Functions host, with a file importing each. The bundle needs them in its own node_modules.
 */
function externalPackages(bundleDir, files) {
  const found = new Map();
  for (const file of files) {
    if (!/\.(m?js|cjs)$/.test(file) || file.startsWith('node_modules/')) continue;
    const text = readFileSync(join(bundleDir, file), 'utf8');
    for (const pattern of IMPORT_PATTERNS) {
      for (const match of text.matchAll(pattern)) {
        const name = packageName(match[1]);
        if (name && !HOST_PROVIDED_PACKAGES.includes(name) && !found.has(name)) found.set(name, file);
      }
    }
  }
  return found;
}

/** Checks what the Functions host needs to load the bundle; throws PackageError naming what is missing. */
function checkBundle(bundleDir, files) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(bundleDir, 'package.json'), 'utf8'));
  } catch {
    throw new PackageError(`${bundleDir}/package.json is missing or not JSON: run npm run build`);
  }
  if (typeof manifest.main !== 'string' || manifest.main.length === 0) {
    throw new PackageError(`${bundleDir}/package.json has no "main": the Functions host finds no functions`);
  }
  if (!files.includes('host.json'))
    throw new PackageError(`${bundleDir}/host.json is missing: run npm run build`);
  if (!files.some((file) => /^functions\/[^/]+\.js$/.test(file))) {
    throw new PackageError(`${bundleDir}/functions/ has no .js entry: run npm run build`);
  }
  const missing = [...externalPackages(bundleDir, files)].filter(
    ([name]) => !files.some((file) => file.startsWith(`node_modules/${name}/`)),
  );
  if (missing.length > 0) {
    const list = missing.map(([name, file]) => `${name} (imported by ${file})`).join(', ');
    throw new PackageError(
      `the bundle imports packages it does not contain and the Functions host does not provide: ${list}; bundle them or add them to the bundle's node_modules`,
    );
  }
}

/**
 * Packs `bundleDir` (default `dist/bundle`) into `out` (default `dist/broker.zip`), both relative to the
 * working directory: every
 * file at its path relative to the bundle, so package.json and host.json sit at the zip's root, and
 * the policy file, when given, as `policy.json` beside them. Refuses a missing or incomplete bundle and
 * one that imports packages it does not carry. Returns the archive's path, entries and size in bytes.
 */
export function packageBundle(options = {}) {
  const bundleDir = resolve(options.bundleDir ?? 'dist/bundle');
  const out = resolve(options.out ?? 'dist/broker.zip');
  if (!statSync(bundleDir, { throwIfNoEntry: false })?.isDirectory())
    throw new PackageError(`no bundle at ${bundleDir}: run npm run build first`);
  const files = listFiles(bundleDir);
  checkBundle(bundleDir, files);
  if (out.startsWith(bundleDir + sep))
    throw new PackageError('the zip must not be written inside the bundle');
  const entries = files.map((name) => ({ name, data: readFileSync(join(bundleDir, name)) }));
  if (options.policyFile !== undefined) {
    if (files.includes('policy.json')) throw new PackageError('the bundle already holds a policy.json');
    const policyPath = resolve(options.policyFile);
    let policy;
    try {
      policy = readFileSync(policyPath);
      JSON.parse(policy.toString('utf8'));
    } catch {
      throw new PackageError(`the policy file ${policyPath} is missing or not JSON`);
    }
    entries.push({ name: 'policy.json', data: policy });
  }
  const archive = zipEntries(entries);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, archive);
  return {
    out,
    entries: entries.map(({ name, data }) => ({ name, size: data.length })),
    bytes: archive.length,
  };
}

/** `node infra/package.mjs [--bundle dist/bundle] [--out dist/broker.zip] [--policy policy.json]` */
function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      bundle: { type: 'string', default: 'dist/bundle' },
      out: { type: 'string', default: 'dist/broker.zip' },
      policy: { type: 'string' },
    },
  });
  try {
    const result = packageBundle({ bundleDir: values.bundle, out: values.out, policyFile: values.policy });
    process.stdout.write(
      `packaged ${result.entries.length} files into ${result.out} (${result.bytes} bytes)\n`,
    );
  } catch (error) {
    if (!(error instanceof PackageError)) throw error;
    console.error(`package: ${error.message}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  main(process.argv.slice(2));
