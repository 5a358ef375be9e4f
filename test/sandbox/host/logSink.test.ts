// The host's log lines go out in batches (group commit): every line queued while a write is under way
// shares the next write, in order, and a response waits only until its own lines are written.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LineBatcher } from '../../../sandbox/host/logSink.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** A writer whose writes finish only when the test says so. */
function heldWriter() {
  const writes: string[] = [];
  const finish: (() => void)[] = [];
  const batcher = new LineBatcher(
    (text, done) => {
      writes.push(text);
      finish.push(done);
    },
    (text) => writes.push(`now:${text}`),
  );
  return { batcher, writes, finish };
}

describe('LineBatcher', () => {
  it('writes the lines of one turn of the event loop in one write, in order', async () => {
    const { batcher, writes } = heldWriter();
    batcher.push('a\n');
    batcher.push('b\n');
    expect(writes).toEqual([]);
    await turn();
    expect(writes).toEqual(['a\nb\n']);
  });

  it('holds a waiter until the write with its lines has finished, and batches lines queued meanwhile', async () => {
    const { batcher, writes, finish } = heldWriter();
    batcher.push('first\n');
    let firstWritten = false;
    void batcher.written().then(() => {
      firstWritten = true;
    });
    await turn();
    expect(writes).toEqual(['first\n']);

    // Two more invocations finish while the first write is under way: they wait for one more write.
    batcher.push('second\n');
    let secondWritten = false;
    void batcher.written().then(() => {
      secondWritten = true;
    });
    batcher.push('third\n');
    await turn();
    expect(writes).toEqual(['first\n']);
    expect(firstWritten).toBe(false);

    finish[0]?.();
    await turn();
    await turn();
    expect(firstWritten).toBe(true);
    expect(secondWritten).toBe(false);
    expect(writes).toEqual(['first\n', 'second\nthird\n']);

    finish[1]?.();
    await turn();
    expect(secondWritten).toBe(true);
  });

  it('answers a waiter at once when nothing is queued or being written', async () => {
    const { batcher, writes } = heldWriter();
    await batcher.written();
    expect(writes).toEqual([]);
  });

  it('writes what is queued synchronously at exit', () => {
    const { batcher, writes } = heldWriter();
    batcher.push('last\n');
    batcher.writeQueuedNow();
    expect(writes).toEqual(['now:last\n']);
  });
});

// The sink writes to the process's own stdout, a file or a pipe, so it runs in a child process of its
// own (the built module, as the sandbox runs it): lines from many turns, in order, and the last line of a
// process that exits straight after logging it.
const built = path.resolve(import.meta.dirname, '../../../dist/sandbox/host/logSink.js');
const script = `
import { logLinesWritten, stdoutLogSink } from ${JSON.stringify(pathToFileURL(built).href)};
for (let turn = 0; turn < 50; turn++) {
  for (let i = 0; i < 40; i++) stdoutLogSink({ level: 'information', category: 'user', message: 'line ' + (turn * 40 + i), functionName: 'token' });
  stdoutLogSink({ level: 'debug', category: 'user', message: 'dropped', functionName: 'token' });
  if (turn % 2 === 0) await logLinesWritten(); else await new Promise((resolve) => setImmediate(resolve));
}
stdoutLogSink({ level: 'error', category: 'system', message: 'last' });
process.exit(0);
`;
const expected = `${Array.from({ length: 2000 }, (_, n) => `[token] information: line ${n}\n`).join('')}[host] error: last\n`;

describe('stdoutLogSink', () => {
  it('writes every line from information up, in order, to stdout as a file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'log-sink-'));
    const file = path.join(dir, 'out.log');
    const fd = openSync(file, 'w');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', fd, 'inherit'],
    });
    closeSync(fd);
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(expected);
    await rm(dir, { recursive: true, force: true });
  });

  it('writes every line from information up, in order, to stdout as a pipe', async () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    expect(await new Promise((resolve) => child.once('close', resolve))).toBe(0);
    expect(out).toBe(expected);
  });
});
