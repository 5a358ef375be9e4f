// Fires timer triggers on their NCRONTAB schedule (croner), on start-up when asked, and on demand.
import { setTimeout as sleep } from 'node:timers/promises';
import { Cron } from 'croner';
import type { AppRegistry } from './appRegistry.js';
import type { RetryPolicy, TimerFunction } from './bindings.js';
import type { RpcException } from './coreTypes.js';
import { runInvocation } from './invoke.js';
import { ncrontabOptions } from './ncrontab.js';
import { type ScheduleStatus, toRpcTimer } from './rpc.js';

/** Starts, runs and stops the app's timers. */
export interface Timers {
  /** Schedules every enabled timer and fires the `runOnStartup` ones once. */
  start(): void;
  /** Runs a timer function now (no retries); rejects with what the handler threw. */
  runNow(name: string, reason: string): Promise<void>;
  /** Stops schedules and pending retries, then waits for running invocations. */
  close(): Promise<void>;
}

interface TimerState {
  fn: TimerFunction;
  cron: Cron | undefined;
  status: ScheduleStatus | undefined;
}

function retryDelayMs(policy: RetryPolicy, retryCount: number): number {
  if (policy.strategy === 'fixedDelay') return policy.delayMs;
  // Exponential back-off: the minimum first, doubling, capped at the maximum.
  return Math.min(policy.maximumMs, policy.minimumMs * 2 ** (retryCount - 1));
}

function toRpcException(error: unknown): RpcException {
  return error instanceof Error
    ? { message: error.message, stackTrace: error.stack ?? null }
    : { message: String(error) };
}

/** Creates the timers for `functions`; nothing is scheduled until `start()`. */
export function createTimers(app: AppRegistry, functions: TimerFunction[]): Timers {
  const states = new Map<string, TimerState>();
  const running = new Set<Promise<unknown>>();
  const stopping = new AbortController();

  for (const fn of functions) {
    const next = new Cron(fn.schedule, { ...ncrontabOptions, paused: true }).nextRun() ?? new Date(8.64e15);
    // The extension starts a monitored timer with Last = DateTime.MinValue and the next occurrence.
    const status = fn.useMonitor ? { last: undefined, next, lastUpdated: new Date() } : undefined;
    states.set(fn.name.toLowerCase(), { fn, cron: undefined, status });
  }

  const track = <T>(work: Promise<T>): Promise<T> => {
    running.add(work);
    void work.then(
      () => running.delete(work),
      () => running.delete(work),
    );
    return work;
  };

  async function fire(
    state: TimerState,
    reason: string,
    retry: RetryPolicy | undefined,
    scheduledAt?: Date,
  ): Promise<void> {
    const { fn } = state;
    let retryCount = 0;
    let exception: RpcException | undefined;
    try {
      for (;;) {
        try {
          await runInvocation(app, fn.registered, {
            reason,
            inputData: [{ name: fn.triggerName, data: toRpcTimer(state.status, false) }],
            ...(retry ? { retryContext: { retryCount, maxRetryCount: retry.maxRetryCount, exception } } : {}),
          });
          return;
        } catch (error) {
          const exhausted = !retry || (retry.maxRetryCount !== -1 && retryCount >= retry.maxRetryCount);
          if (exhausted || stopping.signal.aborted) throw error;
          retryCount += 1;
          exception = toRpcException(error);
          await sleep(retryDelayMs(retry, retryCount), undefined, { signal: stopping.signal }).catch(() => {
            throw error;
          });
        }
      }
    } finally {
      if (state.status && scheduledAt) {
        const next = state.cron?.nextRun() ?? state.status.next;
        state.status = { last: scheduledAt, next, lastUpdated: new Date() };
      }
    }
  }

  const scheduledFire = (state: TimerState, reason: string, scheduledAt: Date) =>
    // Failures were logged by runInvocation; a failed occurrence must not stop the schedule.
    track(fire(state, reason, state.fn.retry, scheduledAt)).catch(() => {});

  return {
    start() {
      for (const state of states.values()) {
        if (state.fn.disabled) continue;
        // protect: an occurrence due while the previous run is still going is skipped, as the
        // timer listener never overlaps runs of one function.
        state.cron = new Cron(state.fn.schedule, { ...ncrontabOptions, protect: true }, () => {
          const now = new Date();
          return scheduledFire(state, `Timer fired at ${now.toISOString()}`, now);
        });
        if (state.fn.runOnStartup) {
          const now = new Date();
          void scheduledFire(state, `Timer fired at ${now.toISOString()}`, now);
        }
      }
    },
    async runNow(name, reason) {
      const state = states.get(name.toLowerCase());
      if (!state) throw new Error(`no timer function named "${name}"`);
      await track(fire(state, reason, undefined));
    },
    async close() {
      stopping.abort();
      for (const state of states.values()) state.cron?.stop();
      await Promise.allSettled([...running]);
    },
  };
}
