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

/**
 * The default sink: one stdout line per entry, `[functionName] level: message`, from `information` up,
 * like host.json's default `logLevel` of Information.
 */
export const stdoutLogSink: LogSink = (entry) => {
  if (!isAtLeast(entry.level, 'information')) return;
  const who = entry.functionName ?? 'host';
  process.stdout.write(`[${who}] ${entry.level}: ${entry.message}\n`);
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
