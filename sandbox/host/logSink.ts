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

// Lines waiting for stdout. Writing to a file or pipe is synchronous in Node, and one write per line
// was a fifth of the host's time under load (bench/README.md); lines are written together instead,
// before each HTTP response leaves (so a client that reads the log after its answer finds its lines)
// and otherwise on the next turn of the event loop.
let pending: string[] = [];
let scheduled = false;

/** Writes the lines the stdout sink holds, in order. */
export function flushLogLines(): void {
  scheduled = false;
  if (pending.length === 0) return;
  const text = pending.join('');
  pending = [];
  process.stdout.write(text);
}
process.on('exit', flushLogLines);

/**
 * The default sink: one stdout line per entry, `[functionName] level: message`, from `information` up,
 * like host.json's default `logLevel` of Information.
 */
export const stdoutLogSink: LogSink = (entry) => {
  if (!isAtLeast(entry.level, 'information')) return;
  const who = entry.functionName ?? 'host';
  pending.push(`[${who}] ${entry.level}: ${entry.message}\n`);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushLogLines);
  }
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
