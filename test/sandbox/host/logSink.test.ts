// The stdout sink writes its lines together, in order: once per turn of the event loop, or when a
// response is about to leave (flushLogLines), never one write per line.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { flushLogLines, stdoutLogSink } from '../../../sandbox/host/logSink.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('stdoutLogSink', () => {
  it('holds lines until flushed, then writes them in one write, in order, from information up', () => {
    const writes: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      writes.push(String(chunk));
      return true;
    });
    stdoutLogSink({ level: 'information', category: 'system', message: 'Executing', functionName: 'token' });
    stdoutLogSink({ level: 'debug', category: 'user', message: 'dropped', functionName: 'token' });
    stdoutLogSink({ level: 'warning', category: 'user', message: '{"event":"x"}', functionName: 'token' });
    expect(writes).toEqual([]);

    flushLogLines();

    expect(writes).toEqual(['[token] information: Executing\n[token] warning: {"event":"x"}\n']);
  });

  it('flushes by itself on the next turn of the event loop', async () => {
    const writes: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      writes.push(String(chunk));
      return true;
    });
    stdoutLogSink({ level: 'error', category: 'system', message: 'boom' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual(['[host] error: boom\n']);
  });
});
