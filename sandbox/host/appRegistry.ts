// One function app's registrations and hooks, as the worker's AppContext keeps them, plus its Disposable.
import type { FunctionCallback, FunctionMetadata, HookCallback, HookData } from './coreTypes.js';
import type { LogEntry, LogSink } from './logSink.js';

/** The hooks the worker knows; `log` is the newer worker's (host 4.34+) log hook. */
export type HookName = 'preInvocation' | 'postInvocation' | 'appStart' | 'appTerminate' | 'log';

/** A function as the worker keeps it after `registerFunction`. */
export interface RegisteredFunction {
  metadata: FunctionMetadata & {
    functionId: string;
    rawBindings: string[];
    scriptFile: string;
    directory?: string;
  };
  callback: FunctionCallback;
}

/** Mirrors the worker's `Disposable` (VS Code's), which the library may hand back to apps. */
export class Disposable {
  static from(...items: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => {
      for (const item of items) item.dispose();
    });
  }

  #callOnDispose: (() => unknown) | undefined;

  constructor(callOnDispose: () => unknown) {
    this.#callOnDispose = callOnDispose;
  }

  dispose(): unknown {
    const call = this.#callOnDispose;
    this.#callOnDispose = undefined;
    return call?.();
  }
}

/** One function app's registrations, like the worker's `AppContext`. */
export class AppRegistry {
  readonly functions = new Map<string, RegisteredFunction>();
  readonly hooks: Record<HookName, HookCallback[]> = {
    preInvocation: [],
    postInvocation: [],
    appStart: [],
    appTerminate: [],
    log: [],
  };
  /** Shared by every hook of the app (the worker's `appHookData`). */
  readonly appHookData: HookData = {};
  /** Shared by app-level hooks only (the worker's `appLevelOnlyHookData`). */
  readonly appLevelOnlyHookData: HookData = {};
  currentEntryPoint: string | undefined;
  /** Set once the functions are indexed; disposing a registration after that is refused, as in the worker. */
  indexingLocked = false;

  constructor(readonly sink: LogSink) {}

  /**
   * Emits a line produced inside the worker (the app's `context.log*`, the library's system logs):
   * `log` hooks see it first and, for user lines, may change its level and message, as in the worker.
   * Lines the host itself writes go straight to `sink`, since the real host's lines never reach the worker.
   */
  emit(entry: LogEntry, invocationContext?: unknown): void {
    let line = entry;
    if (this.hooks.log.length > 0) {
      const context = {
        hookData: {},
        appHookData: this.appHookData,
        invocationContext,
        category: entry.category,
        level: entry.level,
        message: entry.message,
      };
      for (const hook of this.hooks.log) hook(context);
      if (entry.category === 'user') line = { ...entry, level: context.level, message: context.message };
    }
    this.sink(line);
  }
}
