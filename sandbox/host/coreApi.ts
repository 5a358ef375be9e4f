// The virtual module `@azure/functions-core`, supplied the way the real Node worker supplies it, and its registry.
//
// `@azure/functions` does `require('@azure/functions-core')` and, when it resolves, sends every
// `app.http`/`app.timer`/`app.hook.*` registration to it (local-components.md §2). The worker
// (azure-functions-nodejs-worker src/setupCoreModule.ts) provides it by wrapping
// `Module.prototype.require` in a Proxy; this file does the same, so the library cannot tell the
// difference. The library caches that module object for the life of the process and sets its
// programming model only once, so the module is a process-wide singleton; registrations are routed
// to whichever app is being loaded at that moment.
import Module from 'node:module';
import { type AppRegistry, Disposable, type HookName } from './appRegistry.js';
import type {
  FunctionCallback,
  FunctionMetadata,
  HookCallback,
  ProgrammingModel,
  RpcLogCategory,
  RpcLogLevel,
} from './coreTypes.js';

/** Version strings the real core module exposes; the library reads neither, they are informational. */
export const WORKER_VERSION = '3.12.0';
export const HOST_VERSION = '4.1037.0';

interface CoreState {
  api: Record<string, unknown>;
  programmingModel: ProgrammingModel | undefined;
  loading: AppRegistry | undefined;
  open: AppRegistry[];
  queue: Promise<void>;
}

// Kept on globalThis so two copies of this file (vitest may evaluate it per test file) share one module.
const stateKey = Symbol.for('entra-token-broker.sandbox.host.functionsCore');
const globalSlot = globalThis as unknown as Record<symbol, CoreState | undefined>;

/** A RangeError flagged like the worker's AzFuncRangeError, which the library's `app.hook.log` checks for. */
function unknownHook(name: string): Error {
  return Object.assign(new RangeError(`Unrecognized hook "${name}"`), { isAzureFunctionsSystemError: true });
}

function systemError(message: string): Error {
  return Object.assign(new Error(message), { isAzureFunctionsSystemError: true });
}

function isHookName(name: string): name is HookName {
  return ['preInvocation', 'postInvocation', 'appStart', 'appTerminate', 'log'].includes(name);
}

function createState(): CoreState {
  const state: CoreState = {
    api: {},
    programmingModel: undefined,
    loading: undefined,
    open: [],
    queue: Promise.resolve(),
  };
  // Hooks may be registered after loading (e.g. inside appStart); they belong to the newest open app.
  const currentApp = (): AppRegistry | undefined => state.loading ?? state.open.at(-1);
  state.api = {
    version: WORKER_VERSION,
    hostVersion: HOST_VERSION,
    Disposable,
    setProgrammingModel(model: ProgrammingModel): void {
      state.programmingModel = model;
    },
    getProgrammingModel(): ProgrammingModel | undefined {
      return state.programmingModel;
    },
    registerFunction(metadata: FunctionMetadata, callback: FunctionCallback): Disposable {
      const app = state.loading;
      if (!app) {
        // Outside a host's load (e.g. a test importing a handler module directly in the same process)
        // the registration belongs to no app; skip it as the library itself does in test mode.
        console.warn(
          `WARNING: Skipping call to register function "${metadata.name}": no local host is loading an app.`,
        );
        return new Disposable(() => {});
      }
      const functionId = metadata.functionId || metadata.name;
      if (app.functions.has(functionId)) {
        throw systemError(`A function with id "${functionId}" has already been registered.`);
      }
      // rawBindings is what the real host reads; scriptFile/directory are the worker's best guess.
      const rawBindings = Object.entries(metadata.bindings).map(([name, b]) =>
        JSON.stringify({ ...b, name }),
      );
      const entry = app.currentEntryPoint;
      app.functions.set(functionId, {
        metadata: {
          ...metadata,
          functionId,
          rawBindings,
          scriptFile: entry ? (entry.split(/[\\/]/).at(-1) ?? 'unknown') : 'unknown',
          ...(entry ? { directory: entry.replace(/[\\/][^\\/]*$/, '') } : {}),
        },
        callback,
      });
      return new Disposable(() => {
        if (app.indexingLocked) throw systemError('A function can only be disposed during app startup.');
        app.functions.delete(functionId);
      });
    },
    registerHook(name: string, callback: HookCallback): Disposable {
      if (!isHookName(name)) throw unknownHook(name);
      const app = currentApp();
      if (!app) {
        console.warn(`WARNING: Skipping call to register the ${name} hook: no local host is running an app.`);
        return new Disposable(() => {});
      }
      const list = app.hooks[name];
      list.push(callback);
      return new Disposable(() => {
        const index = list.indexOf(callback);
        if (index > -1) list.splice(index, 1);
      });
    },
    log(level: RpcLogLevel, category: RpcLogCategory, message: string): void {
      currentApp()?.emit({ level, category, message });
    },
  };
  return state;
}

function coreState(): CoreState {
  let state = globalSlot[stateKey];
  if (!state) {
    state = createState();
    globalSlot[stateKey] = state;
  }
  return state;
}

/**
 * Makes `require('@azure/functions-core')` resolve to the fake core module in this process.
 * Idempotent. Must run before anything asks `@azure/functions` to register, because the library
 * looks the module up once and then remembers the answer (utils/tryGetCoreApiLazy.ts).
 */
export function installCoreApi(): void {
  const state = coreState();
  const proto = Module.prototype as unknown as { require: (id: string) => unknown } & Record<symbol, boolean>;
  if (proto[stateKey]) return;
  // Same interception as setupCoreModule.ts in the worker: a Proxy over Module.prototype.require.
  proto.require = new Proxy(proto.require, {
    apply(target, thisArg, args: unknown[]) {
      if (args[0] === '@azure/functions-core') return state.api;
      return Reflect.apply(target, thisArg, args);
    },
  });
  proto[stateKey] = true;
}

/** The programming model the library set through `setProgrammingModel`, if any. */
export function currentProgrammingModel(): ProgrammingModel | undefined {
  return coreState().programmingModel;
}

/**
 * Runs `load` with `app` as the target of every registration; loads are serialised so two hosts
 * starting at once in one process cannot mix their functions.
 */
export async function loadInto<T>(app: AppRegistry, load: () => Promise<T>): Promise<T> {
  const state = coreState();
  const previous = state.queue;
  let release = () => {};
  state.queue = new Promise<void>((resolve) => {
    release = resolve;
  });
  await previous;
  state.loading = app;
  try {
    return await load();
  } finally {
    state.loading = undefined;
    release();
  }
}

/** Marks the app as running (late hook registrations and library system logs go to it). */
export function openApp(app: AppRegistry): void {
  coreState().open.push(app);
}

/** Forgets a closed app. */
export function closeApp(app: AppRegistry): void {
  const open = coreState().open;
  const index = open.indexOf(app);
  if (index > -1) open.splice(index, 1);
}
