// Where the local host's log lines go: a pluggable sink, stdout by default.
import type { RpcLogCategory, RpcLogLevel } from './coreTypes.js';

/** One log line from the app (`context.log*`, the library's system logs) or from the host itself. */
export interface LogEntry {
  level: RpcLogLevel;
  /** `user` for the app's own `context.log*`; `system` for the library and the host. */
  category: RpcLogCategory;
  message: string;
  /** The function the line belongs to; absent for app-level lines (loading, appStart). */
  functionName?: string;
  invocationId?: string;
}

/** Receives every log line; must not throw (a throwing sink is caught and ignored). */
export type LogSink = (entry: LogEntry) => void;

const levelRank: Record<RpcLogLevel, number> = {
  trace: 0,
  debug: 1,
  information: 2,
  warning: 3,
  error: 4,
  critical: 5,
  none: 6,
};

/** True when `level` is at least `threshold` (`none` is never emitted). */
export function isAtLeast(level: RpcLogLevel, threshold: RpcLogLevel): boolean {
  return level !== 'none' && levelRank[level] >= levelRank[threshold];
}

/** Writes `text` out and calls `done` once it is written (or failed: a log sink is an observer). */
export type WriteOut = (text: string, done: () => void) => void;

/**
 * Lines that go out in batches, one write at a time, so that many invocations' lines share one write
 * (group commit). Writing each response's lines on their own was a write call per request, most of the
 * host's time in `writeSync` under load (bench/README.md).
 */
export class LineBatcher {
  private pending: string[] = [];
  private waiting: (() => void)[] = [];
  private busy = false;
  private scheduled = false;

  constructor(
    private readonly writeOut: WriteOut,
    private readonly writeNow: (text: string) => void,
  ) {}

  /** Queues one line (with its newline); it is written on the next turn of the event loop at the latest. */
  push(line: string): void {
    this.pending.push(line);
    this.schedule();
  }

  /** Resolves once every line queued so far is written: a response waits for it, so a client that reads the log after its answer finds its lines. */
  written(): Promise<void> {
    if (this.pending.length === 0 && !this.busy) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.schedule();
    });
  }

  /** Writes what is queued at once, synchronously (process exit). */
  writeQueuedNow(): void {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.writeNow(text);
  }

  private schedule(): void {
    if (this.scheduled || this.busy) return;
    this.scheduled = true;
    // After the current turn, so that every invocation that finishes in it joins the same write.
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    if (this.pending.length === 0) {
      // A waiter that queued no line of its own since the last write has nothing left to wait for.
      const done = this.waiting;
      this.waiting = [];
      for (const resolve of done) resolve();
      return;
    }
    const text = this.pending.join('');
    const done = this.waiting;
    this.pending = [];
    this.waiting = [];
    this.busy = true;
    this.writeOut(text, () => {
      this.busy = false;
      for (const resolve of done) resolve();
      if (this.pending.length > 0 || this.waiting.length > 0) this.schedule();
    });
  }
}

// process.stdout completes writes in order (to a file or pipe synchronously, in Node); the batching
// above is what saves the calls. Writing through the thread pool instead (fs.write) was measured too:
// no gain in CPU per request, and each response then waited on a thread hop.
const stdoutWrite: WriteOut = (text, done) => process.stdout.write(text, () => done());

const stdoutLines = new LineBatcher(stdoutWrite, (text) => process.stdout.write(text));

/** Resolves once every line the stdout sink holds is written. */
export function logLinesWritten(): Promise<void> {
  return stdoutLines.written();
}
process.on('exit', () => stdoutLines.writeQueuedNow());

/**
 * The default sink: one stdout line per entry, `[functionName] level: message`, from `information` up,
 * like host.json's default `logLevel` of Information.
 */
export const stdoutLogSink: LogSink = (entry) => {
  if (!isAtLeast(entry.level, 'information')) return;
  const who = entry.functionName ?? 'host';
  stdoutLines.push(`[${who}] ${entry.level}: ${entry.message}\n`);
};

/** Wraps a sink so that a failing sink never breaks an invocation. */
export function safeSink(sink: LogSink): LogSink {
  return (entry) => {
    try {
      sink(entry);
    } catch {
      // A log sink is an observer; its failure must not change what the app sees.
    }
  };
}
