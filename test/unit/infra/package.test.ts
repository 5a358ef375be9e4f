// infra/: the zip packager (read back with an independent reader and, where present, unzip) and the Azure
// template's app settings, checked against the README's configuration table.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PackageError, packageBundle } from '../../../infra/package.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** What a central directory header (APPNOTE 4.3.12) and its local header say about one entry. */
interface ZipEntry {
  data: Buffer;
  /** Version made by: the high byte is the host system (3 = Unix, APPNOTE 4.4.2). */
  madeBy: number;
  /** MS-DOS time and date (APPNOTE 4.4.6), in the central and the local header. */
  time: number;
  date: number;
  localTime: number;
  localDate: number;
  /** External file attributes: on Unix, the mode in the high 16 bits. */
  attrs: number;
}

/** Reads a zip through its central directory (APPNOTE 4.3.16, 4.3.12, 4.3.7): written apart from the packager. */
function readZipEntries(archive: Buffer): Map<string, ZipEntry> {
  const end = archive.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  expect(end).toBeGreaterThanOrEqual(0);
  const count = archive.readUInt16LE(end + 10);
  let at = archive.readUInt32LE(end + 16);
  const files = new Map<string, ZipEntry>();
  for (let i = 0; i < count; i++) {
    expect(archive.readUInt32LE(at)).toBe(0x02014b50);
    const method = archive.readUInt16LE(at + 10);
    const compressed = archive.readUInt32LE(at + 20);
    const size = archive.readUInt32LE(at + 24);
    const nameLength = archive.readUInt16LE(at + 28);
    const extra = archive.readUInt16LE(at + 30);
    const comment = archive.readUInt16LE(at + 32);
    const local = archive.readUInt32LE(at + 42);
    const name = archive.toString('utf8', at + 46, at + 46 + nameLength);
    expect(archive.readUInt32LE(local)).toBe(0x04034b50);
    const start = local + 30 + archive.readUInt16LE(local + 26) + archive.readUInt16LE(local + 28);
    const body = archive.subarray(start, start + compressed);
    const data = method === 8 ? inflateRawSync(body) : Buffer.from(body);
    expect([0, 8]).toContain(method);
    expect(data.length).toBe(size);
    files.set(name, {
      data,
      madeBy: archive.readUInt16LE(at + 4),
      time: archive.readUInt16LE(at + 12),
      date: archive.readUInt16LE(at + 14),
      localTime: archive.readUInt16LE(local + 10),
      localDate: archive.readUInt16LE(local + 12),
      attrs: archive.readUInt32LE(at + 38),
    });
    at += 46 + nameLength + extra + comment;
  }
  return files;
}

/** The zip's files and their contents. */
function readZip(archive: Buffer): Map<string, Buffer> {
  return new Map([...readZipEntries(archive)].map(([name, entry]) => [name, entry.data]));
}

/** The error `act` throws (it must throw). */
function thrown(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal');
}

const hasUnzip = (() => {
  try {
    execFileSync('unzip', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('infra/package.mjs', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'broker-package-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  function fakeBundle(name: string, files: Record<string, string | Buffer>): string {
    const dir = join(work, name);
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    return dir;
  }

  it('packs exactly the bundle files, with their bytes, and the policy as policy.json', () => {
    const random = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251));
    const files: Record<string, string | Buffer> = {
      'package.json': JSON.stringify({ type: 'module', main: 'functions/*.js' }),
      'host.json': '{"version":"2.0"}',
      'functions/token.js': `import { x } from '../chunks/a.js';\nimport { createHash } from 'node:crypto';\n${'x();\n'.repeat(500)}`,
      'chunks/a.js': "const core = __require('@azure/functions-core');\nexport const x = () => core;\n",
      'chunks/workload.proto': 'syntax = "proto3";\n',
      'chunks/ünïcode-name.bin': random,
      'chunks/empty.txt': '',
    };
    const bundleDir = fakeBundle('ok', files);
    const policyFile = join(work, 'policy.json');
    writeFileSync(policyFile, '{"version":1,"targets":{},"rules":[]}');
    const out = join(work, 'out', 'broker.zip');

    const result = packageBundle({ bundleDir, out, policyFile });

    const read = readZip(readFileSync(out));
    expect([...read.keys()].sort()).toEqual([...Object.keys(files), 'policy.json'].sort());
    for (const [name, content] of Object.entries(files)) expect(read.get(name)).toEqual(Buffer.from(content));
    expect(read.get('policy.json')?.toString()).toBe('{"version":1,"targets":{},"rules":[]}');
    expect(result.entries).toHaveLength(Object.keys(files).length + 1);
    expect(result.bytes).toBe(readFileSync(out).length);
  });

  const minimal = {
    'package.json': '{"main":"functions/*.js"}',
    'host.json': '{}',
    'functions/a.js': "import { readFileSync } from 'node:fs';\n",
    'chunks/b.txt': 'b\n',
  };

  it('gives every entry the fixed time, Unix as its system and mode rw-r--r--, so a rebuild is byte-identical', () => {
    const bundleDir = fakeBundle('reproducible', minimal);
    const out = join(work, 'reproducible.zip');

    packageBundle({ bundleDir, out });

    const entries = readZipEntries(readFileSync(out));
    expect(entries.size).toBe(Object.keys(minimal).length);
    // package.mjs's FIXED_TIME, 2000-01-01 00:00 local time, in MS-DOS form: ((2000 - 1980) << 9) | (1 << 5) | 1.
    const dosDate = (20 << 9) | (1 << 5) | 1;
    for (const [name, entry] of entries) {
      expect({ name, time: entry.time, date: entry.date }).toEqual({ name, time: 0, date: dosDate });
      expect({ name, time: entry.localTime, date: entry.localDate }).toEqual({
        name,
        time: 0,
        date: dosDate,
      });
      expect({ name, system: entry.madeBy >> 8 }).toEqual({ name, system: 3 });
      expect({ name, attrs: entry.attrs }).toEqual({ name, attrs: (0o100644 << 16) >>> 0 });
    }
    const again = join(work, 'reproducible-again.zip');
    packageBundle({ bundleDir, out: again });
    expect(readFileSync(again)).toEqual(readFileSync(out));
  });

  // Always runs: the test's own reader (readZip, written apart from fflate) is the check; unzip, when the
  // machine has it, is an extra opinion, so a machine without it still runs this test and skips nothing.
  it('writes a zip that an independent reader, and unzip where installed, read back whole', () => {
    const bundleDir = fakeBundle('readable', { ...minimal, 'functions/a.js': `${'x();\n'.repeat(500)}` });
    const out = join(work, 'readable.zip');

    packageBundle({ bundleDir, out });

    const read = readZip(readFileSync(out));
    expect(read.get('functions/a.js')?.toString()).toBe('x();\n'.repeat(500));
    expect(read.get('chunks/b.txt')?.toString()).toBe('b\n');
    if (hasUnzip) {
      execFileSync('unzip', ['-tq', out], { stdio: 'pipe' });
      expect(execFileSync('unzip', ['-p', out, 'functions/a.js']).toString()).toBe('x();\n'.repeat(500));
    }
  });

  it('refuses a missing bundle with what to run', () => {
    const error = thrown(() => packageBundle({ bundleDir: join(work, 'nowhere'), out: join(work, 'x.zip') }));

    expect(error).toBeInstanceOf(PackageError);
    expect((error as Error).message).toMatch(/no bundle at .*nowhere: run npm run build first/);
  });

  it.each([
    ['no package.json', { 'host.json': '{}', 'functions/a.js': '' }, /package\.json is missing/],
    ['no main', { 'package.json': '{}', 'host.json': '{}', 'functions/a.js': '' }, /has no "main"/],
    [
      'no host.json',
      { 'package.json': '{"main":"functions/*.js"}', 'functions/a.js': '' },
      /host\.json is missing/,
    ],
    [
      'no .js entry in functions/',
      {
        'package.json': '{"main":"functions/*.js"}',
        'host.json': '{}',
        'functions/a.js.map': '{}',
        'functions/sub/b.js': '',
      },
      /functions\/ has no \.js entry: run npm run build/,
    ],
    [
      'an import the host does not provide',
      {
        'package.json': '{"main":"functions/*.js"}',
        'host.json': '{}',
        'functions/a.js': "import pad from 'left-pad';\nimport { x } from '@scope/lib/sub';\n",
      },
      /does not provide: left-pad \(imported by functions\/a\.js\), @scope\/lib \(imported by functions\/a\.js\)/,
    ],
  ])('refuses a bundle with %s', (name, files, message) => {
    const bundleDir = fakeBundle(`bad-${name.replaceAll(' ', '-')}`, files);
    expect(() => packageBundle({ bundleDir, out: join(work, `${name}.zip`) })).toThrow(message);
  });

  // esbuild writes static imports, its __require() of externals, bare side-effect imports and import().
  it.each([
    ['__require()', "const x = __require('left-pad');\n"],
    ['a bare import', "import 'left-pad';\n"],
    ['a dynamic import()', "const x = await import('left-pad');\n"],
  ])('refuses a package the bundle reaches through %s', (_, code) => {
    const bundleDir = fakeBundle(`scan-${_.replace(/\W/g, '')}`, { ...minimal, 'functions/a.js': code });

    expect(() => packageBundle({ bundleDir, out: join(work, 'scan.zip') })).toThrow(
      /does not provide: left-pad \(imported by functions\/a\.js\)/,
    );
  });

  it('takes Node built-ins, with or without node:, and the host-provided package as available', () => {
    const bundleDir = fakeBundle('builtins', {
      ...minimal,
      'functions/a.js': [
        "import { readFileSync } from 'node:fs';",
        "import fs from 'fs';",
        "import 'node:crypto';",
        "const path = __require('path');",
        "const core = __require('@azure/functions-core');",
        "const zlib = await import('node:zlib');",
        '',
      ].join('\n'),
    });
    const out = join(work, 'builtins.zip');

    packageBundle({ bundleDir, out });

    expect([...readZip(readFileSync(out)).keys()]).toContain('functions/a.js');
  });

  it('refuses to write the zip inside the bundle, and writes nothing there', () => {
    const bundleDir = fakeBundle('out-inside', minimal);
    const out = join(bundleDir, 'broker.zip');

    expect(() => packageBundle({ bundleDir, out })).toThrow('the zip must not be written inside the bundle');
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a symbolic link in the bundle', () => {
    const bundleDir = fakeBundle('symlink', minimal);
    symlinkSync(join(bundleDir, 'host.json'), join(bundleDir, 'chunks', 'link.json'));

    expect(() => packageBundle({ bundleDir, out: join(work, 'symlink.zip') })).toThrow(
      /chunks\/link\.json is a symbolic link: the bundle holds none/,
    );
  });

  it.each([
    [
      'a bundle that already holds policy.json',
      'policy-twice',
      { 'policy.json': '{}' },
      '{}',
      /already holds a policy\.json/,
    ],
    [
      'a policy that is not JSON',
      'policy-bad',
      {},
      '{"version":1,',
      /policy-bad\.json is missing or not JSON/,
    ],
  ])('refuses %s', (_, name, extra, policy, message) => {
    const bundleDir = fakeBundle(name, { ...minimal, ...extra });
    const policyFile = join(work, `${name}.json`);
    writeFileSync(policyFile, policy);

    expect(() => packageBundle({ bundleDir, out: join(work, `${name}.zip`), policyFile })).toThrow(message);
  });

  it('accepts an import the bundle carries in its own node_modules', () => {
    const bundleDir = fakeBundle('vendored', {
      'package.json': '{"main":"functions/*.js"}',
      'host.json': '{}',
      'functions/a.js': "import pad from 'left-pad';\n",
      'node_modules/left-pad/index.js': 'export default 1;\n',
    });
    const out = join(work, 'vendored.zip');
    packageBundle({ bundleDir, out });
    expect([...readZip(readFileSync(out)).keys()]).toContain('node_modules/left-pad/index.js');
  });

  // npm test builds before vitest runs, so dist/bundle is there; without it the packager must refuse.
  it('packs the real dist/bundle: package.json main functions/*.js, host.json, every function', () => {
    const bundleDir = join(ROOT, 'dist', 'bundle');
    const out = join(work, 'real.zip');
    if (!existsSync(bundleDir)) {
      expect(() => packageBundle({ bundleDir, out })).toThrow(/run npm run build first/);
      return;
    }
    packageBundle({ bundleDir, out });
    const read = readZip(readFileSync(out));
    const manifest = JSON.parse(read.get('package.json')?.toString() ?? '{}') as {
      main?: string;
      type?: string;
    };
    expect(manifest.main).toBe('functions/*.js');
    expect(manifest.type).toBe('module');
    expect(read.get('host.json')).toEqual(readFileSync(join(bundleDir, 'host.json')));
    const functions = readdirSync(join(bundleDir, 'functions')).filter((file) => file.endsWith('.js'));
    expect(functions).toEqual(expect.arrayContaining(['health.js', 'token.js', 'refreshTokens.js']));
    for (const file of functions) {
      expect(read.get(`functions/${file}`)).toEqual(readFileSync(join(bundleDir, 'functions', file)));
    }
    expect(read.has('chunks/workload.proto')).toBe(true);
    expect([...read.keys()].some((name) => name.startsWith('node_modules/'))).toBe(false);
  });
});

/** Setting names in the README's configuration table (the rows under "## Configuration"). */
function readmeSettings(): Set<string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Configuration\n'));
  const table = section.slice(0, section.indexOf('\n## ', 1));
  return new Set(
    [...table.matchAll(/^\| `([A-Za-z_][A-Za-z0-9_]*)` \|/gm)].map((match) => match[1] as string),
  );
}

/** The keys of every `var <name>Settings = {...}` object (also inside `cond ? {...} : {}`) in a Bicep file. */
function bicepSettingNames(bicep: string, variable: RegExp): string[] {
  const names: string[] = [];
  for (const match of bicep.matchAll(variable)) {
    const start = bicep.indexOf('{', match.index);
    let depth = 0;
    let end = start;
    for (; end < bicep.length; end++) {
      if (bicep[end] === '{') depth++;
      if (bicep[end] === '}' && --depth === 0) break;
    }
    for (const key of bicep.slice(start + 1, end).matchAll(/^\s{2,6}([A-Za-z_][A-Za-z0-9_]*):/gm)) {
      names.push(key[1] as string);
    }
  }
  return names;
}

// The Functions host's own settings, not the broker's: documented by Azure Functions, not the README table.
const HOST_SETTINGS = [
  'AzureWebJobsStorage__accountName',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  'languageWorkers__node__arguments',
];

describe('infra/azure/main.bicep', () => {
  const bicep = readFileSync(join(ROOT, 'infra', 'azure', 'main.bicep'), 'utf8');
  const deploy = readFileSync(join(ROOT, 'infra', 'azure', 'deploy.sh'), 'utf8');
  const documented = readmeSettings();

  it('reads the README table', () => {
    expect(documented.has('BROKER_AUDIENCE')).toBe(true);
    expect(documented.size).toBeGreaterThan(40);
  });

  it('sets only broker settings that the README documents, and the host settings apart', () => {
    const host = bicepSettingNames(bicep, /^var hostSettings = /gm);
    const broker = bicepSettingNames(bicep, /^var broker\w*Settings = |^var sharedCache\w*Settings = /gm);

    expect(host.sort()).toEqual([...HOST_SETTINGS].sort());
    expect(broker).toEqual(
      expect.arrayContaining(['BROKER_AUDIENCE', 'BROKER_POLICY_FILE', 'TOKEN_SHARED_CACHE_CONNECTION']),
    );
    expect(broker.filter((name) => !documented.has(name))).toEqual([]);
    // Every settings variable is one of the two kinds above, and all of them reach the app.
    const variables = [...bicep.matchAll(/^var (\w+Settings) = (?!union\()/gm)].map((match) => match[1]);
    expect(variables.sort()).toEqual(
      [
        'brokerCoreSettings',
        'brokerVaultSettings',
        'hostSettings',
        'sharedCacheKeySettings',
        'sharedCacheSettings',
      ].sort(),
    );
    expect(bicep).toMatch(
      /var appSettings = union\(hostSettings, brokerCoreSettings, brokerVaultSettings, sharedCacheSettings, sharedCacheKeySettings, brokerSettings\)/,
    );
    // Flex Consumption takes the runtime from functionAppConfig; these app settings are refused there.
    expect(bicep).not.toMatch(
      /FUNCTIONS_WORKER_RUNTIME|FUNCTIONS_EXTENSION_VERSION|WEBSITE_RUN_FROM_PACKAGE:/,
    );
  });

  it('names no setting the README marks as a secret, in the template or its example parameters', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const secrets = [...readme.matchAll(/^\| `([A-Za-z_][A-Za-z0-9_]*)` \|[^|\n]*\| \*\*Secret\.\*\*/gm)].map(
      (match) => match[1] as string,
    );
    const params = readFileSync(join(ROOT, 'infra', 'azure', 'main.bicepparam'), 'utf8');

    expect(secrets).toEqual(expect.arrayContaining(['TOKEN_CACHE_KEYS', 'IDENTITY_HEADER']));
    // As a setting (`NAME: value`); a comment may name one.
    for (const name of secrets) {
      expect(bicep).not.toMatch(new RegExp(`\\b${name}\\s*:`));
      expect(params).not.toMatch(new RegExp(`\\b${name}\\s*:`));
    }
  });

  it('names only documented settings in the example parameters', () => {
    const params = readFileSync(join(ROOT, 'infra', 'azure', 'main.bicepparam'), 'utf8');
    const names = bicepSettingNames(params, /^param brokerSettings = /gm);
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('passes the Node options of infra/node-arguments.json, which the memory benchmark measures, to the worker', () => {
    const options = JSON.parse(readFileSync(join(ROOT, 'infra', 'node-arguments.json'), 'utf8')) as unknown;
    expect(options).toEqual(['--max-semi-space-size=16']);
    expect(bicep).toMatch(
      /languageWorkers__node__arguments: join\(loadJsonContent\('\.\.\/node-arguments\.json'\), ' '\)/,
    );
  });

  it('sets TOKEN_CACHE_KEY_SECRET_URL only with a vault target and the shared tier, and tells deploy.sh so', () => {
    expect(bicep).toMatch(/^var useCacheKeySecret = useVault && enableSharedCache$/m);
    expect(bicep).toMatch(/^var sharedCacheKeySettings = useCacheKeySecret\n/m);
    expect(bicep.match(/TOKEN_CACHE_KEY_SECRET_URL: /g)).toHaveLength(1);
    expect(bicep).toMatch(/output cacheKeySecretName string = useCacheKeySecret \? cacheKeySecretName : ''/);
    expect(deploy).toMatch(/key_secret="\$\(output cacheKeySecretName\)"/);
    expect(deploy).toMatch(/&& -n "\$key_secret" \]\]; then/);
  });

  it('grants the deployer through its own parameter, never replacing secretsOfficerPrincipalIds', () => {
    expect(bicep).toMatch(/^param deployerPrincipalId string = ''$/m);
    expect(deploy).toMatch(/"deployerPrincipalId=\$deployer"/);
    expect(deploy).not.toMatch(/secretsOfficerPrincipalIds=/);
  });

  it('names only scripts that exist in its comments and descriptions', () => {
    const params = readFileSync(join(ROOT, 'infra', 'azure', 'main.bicepparam'), 'utf8');
    const scripts = [...`${bicep}\n${params}`.matchAll(/infra\/[\w/.-]+\.sh/g)].map((match) => match[0]);
    expect(scripts).toContain('infra/gcp/service-accounts.sh');
    expect(scripts.filter((script) => !existsSync(join(ROOT, script)))).toEqual([]);
  });

  it('runs Node 24 on Flex Consumption, https only, TLS 1.2, without shared key on the host storage', () => {
    expect(bicep).toMatch(/runtime: \{\s*name: 'node'\s*version: '24'\s*\}/);
    expect(bicep).toMatch(/sku: \{ tier: 'FlexConsumption', name: 'FC1' \}/);
    const functionApp = bicep.slice(
      bicep.indexOf('resource functionApp '),
      bicep.indexOf('resource ftpBasicAuth '),
    );
    expect(functionApp).toMatch(/httpsOnly: true/);
    expect(functionApp).toMatch(/\sminTlsVersion: '1\.2'/);
    expect(bicep).toMatch(/enableRbacAuthorization: true/);
    const hostStorage = bicep.slice(
      bicep.indexOf('resource hostStorage '),
      bicep.indexOf('resource hostBlobs '),
    );
    expect(hostStorage).toMatch(/allowSharedKeyAccess: false/);
    expect(hostStorage).toMatch(/minimumTlsVersion: 'TLS1_2'/);
  });
});
