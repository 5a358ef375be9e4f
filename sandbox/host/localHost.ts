// Public API of the local Functions host: load an app through its package.json `main`, serve it, fire its timers.
//
// Azure Functions Core Tools cannot be installed here, so this stands in for `func start`
// (local-components.md §2): the app is loaded only the way the real host loads it, never imported.
import type http from 'node:http';
import { listen, type RunningServer } from '../lib/serve.js';
import { AppRegistry } from './appRegistry.js';
import type { HostedFunction } from './bindings.js';
import { describeFunctions } from './bindings.js';
import { closeApp, currentProgrammingModel, installCoreApi, openApp } from './coreApi.js';
import type { RpcBindingInfo } from './coreTypes.js';
import { createRequestListener } from './httpServer.js';
import { expandMain, loadEntryPoints, readAppConfig } from './loadApp.js';
import { type LogSink, safeSink, stdoutLogSink } from './logSink.js';
import { createLimitedServer, type RequestLimits, resolveRequestLimits } from './requestLimits.js';
import { createTimers, type Timers } from './timers.js';

export { installCoreApi } from './coreApi.js';
export type { LogEntry, LogSink } from './logSink.js';
export { DEFAULT_REQUEST_LIMITS, type RequestLimits } from './requestLimits.js';

/** How to start the host. */
export interface LocalHostOptions {
  /** The function app root: the folder with package.json (whose `main` is globbed) and host.json. */
  appRoot: string;
  /** Port to listen on; 7071 like `func start` when omitted, 0 for any free port. */
  port?: number;
  /** Address to bind; 127.0.0.1 when omitted. */
  host?: string;
  /** App settings, set in process.env before the app loads and restored on close (as local.settings.json `Values`). */
  env?: Record<string, string>;
  /** Receives every log line; stdout (`[function] level: message`) when omitted. */
  log?: LogSink;
  /** Schedule timers and run `runOnStartup` ones; true when omitted. `invokeTimer` and the admin endpoint work either way. */
  timers?: boolean;
  /**
   * Request-abuse limits, each defaulting to the real host's value (`DEFAULT_REQUEST_LIMITS`: Kestrel's
   * defaults and the Functions host's 100 MB body cap). A request over one is refused before any function runs.
   */
  limits?: Partial<RequestLimits>;
}

/** One hosted function as the host indexed it. */
export interface LocalFunctionInfo {
  name: string;
  trigger: 'httpTrigger' | 'timerTrigger';
  /** The bindings exactly as registered through `@azure/functions-core`. */
  bindings: Record<string, RpcBindingInfo>;
  disabled: boolean;
  /** HTTP: the route template, the methods (undefined = all), the auth level and the base URL. */
  route?: string;
  methods?: string[] | undefined;
  authLevel?: string;
  url?: string;
  /** Timer: the NCRONTAB expression (app settings resolved) and `runOnStartup`. */
  schedule?: string;
  runOnStartup?: boolean;
}

/** A running host. */
export interface LocalHost {
  /** Base URL, e.g. `http://127.0.0.1:7071`; functions are under `${url}/${routePrefix}/`. */
  url: string;
  port: number;
  routePrefix: string;
  functions: readonly LocalFunctionInfo[];
  /** The limits in force, defaults filled in. */
  limits: Readonly<RequestLimits>;
  /** Runs a timer function now; resolves when it finished, rejects with what it threw. */
  invokeTimer(name: string): Promise<void>;
  /** Stops timers, closes sockets, runs appTerminate hooks and restores the environment. Idempotent. */
  close(): Promise<void>;
}

// The capabilities the Node worker offers (getWorkerCapabilities.ts); rpc.ts converts accordingly.
const WORKER_CAPABILITIES: Record<string, string> = {
  RawHttpBodyBytes: 'true',
  RpcHttpTriggerMetadataRemoved: 'true',
  RpcHttpBodyOnly: 'true',
  IgnoreEmptyValuedRpcHttpHeaders: 'true',
  UseNullableValueDictionaryForHttp: 'true',
  WorkerStatus: 'true',
  TypedDataCollection: 'true',
  HandlesWorkerTerminateMessage: 'true',
};

function applyEnv(env: Record<string, string> | undefined): () => void {
  const previous = new Map<string, string | undefined>();
  for (const [key, value] of Object.entries(env ?? {})) {
    previous.set(key, process.env[key]);
    process.env[key] = value;
  }
  return () => {
    for (const [key, value] of previous) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}

function appHookContext(app: AppRegistry, extra: Record<string, unknown>): object {
  return {
    get hookData() {
      return app.appLevelOnlyHookData;
    },
    get appHookData() {
      return app.appHookData;
    },
    ...extra,
  };
}

function describe(fn: HostedFunction, base: string): LocalFunctionInfo {
  const common = { name: fn.name, bindings: fn.registered.metadata.bindings, disabled: fn.disabled };
  if (fn.kind === 'timer')
    return { ...common, trigger: 'timerTrigger', schedule: fn.schedule, runOnStartup: fn.runOnStartup };
  const route = fn.route.template.replace(/^~?\/+/, '');
  return {
    ...common,
    trigger: 'httpTrigger',
    route,
    methods: fn.methods,
    authLevel: fn.authLevel,
    url: `${base}/${route}`,
  };
}

/**
 * Starts the host: binds the port (failing fast when taken), loads the app's entry points, refuses
 * bindings it cannot host, runs appStart hooks, then serves HTTP routes and schedules timers.
 * Security precondition: binds loopback by default and ignores `authLevel`, as `func start` does
 * locally; never expose it beyond the machine.
 */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const limits = Object.freeze(resolveRequestLimits(options.limits));
  installCoreApi();
  const sink = safeSink(options.log ?? stdoutLogSink);
  let listener: http.RequestListener = (_req, res) => {
    // Like the host's RequiresRunningHost filter while the app is still starting.
    res.statusCode = 503;
    res.end();
  };
  // Kestrel applies its limits before any middleware, so they hold while the app is still starting too.
  const server = createLimitedServer(limits, (req, res) => listener(req, res));
  const running: RunningServer = await listen(
    server,
    options.host ?? '127.0.0.1',
    options.port ?? 7071,
    'http',
  );
  const restoreEnv = applyEnv(options.env);
  const app = new AppRegistry(sink);
  let timers: Timers | undefined;
  try {
    const config = await readAppConfig(options.appRoot);
    await loadEntryPoints(app, config, await expandMain(config.appRoot, config.main));
    app.indexingLocked = true;
    const model = currentProgrammingModel();
    if (!model) {
      throw new Error(
        '@azure/functions never registered with @azure/functions-core: it was used in test mode before the local host was installed in this process',
      );
    }
    if (app.functions.size === 0)
      throw new Error(`no functions were registered by ${config.main} in ${config.appRoot}`);
    const functions = describeFunctions(app.functions.values(), process.env);
    openApp(app);
    // The worker's order (startApp, then getWorkerCapabilities): appStart hooks, then capabilities, which locks app.setup().
    for (const hook of [...app.hooks.appStart])
      await hook(appHookContext(app, { functionAppDirectory: config.appRoot }));
    const capabilities = await (model.getCapabilities?.({ ...WORKER_CAPABILITIES }) ?? WORKER_CAPABILITIES);
    if (capabilities.HttpUri) {
      throw new Error(
        'app.setup({ enableHttpStream: true }) is not supported by the local host (HTTP streaming needs the host proxy)',
      );
    }
    const activeTimers = createTimers(
      app,
      functions.flatMap((f) => (f.kind === 'timer' ? [f] : [])),
    );
    timers = activeTimers;
    listener = createRequestListener({
      app,
      routePrefix: config.routePrefix,
      functions,
      runTimer: (name, reason) => activeTimers.runNow(name, reason),
      limits,
    });
    if (options.timers !== false) activeTimers.start();
    const base = config.routePrefix === '' ? running.url : `${running.url}/${config.routePrefix}`;
    const info = functions.map((fn) => describe(fn, base));
    let closing: Promise<void> | undefined;
    return {
      url: running.url,
      port: running.port,
      routePrefix: config.routePrefix,
      functions: info,
      limits,
      async invokeTimer(name) {
        const fn = functions.find((f) => f.name.toLowerCase() === name.toLowerCase());
        if (fn?.kind !== 'timer') throw new Error(`"${name}" is not a timer function of this app`);
        await activeTimers.runNow(fn.name, 'This function was programmatically called via the host APIs.');
      },
      close() {
        closing ??= (async () => {
          await activeTimers.close();
          await running.close();
          try {
            for (const hook of [...app.hooks.appTerminate]) await hook(appHookContext(app, {}));
          } catch (error) {
            sink({
              level: 'error',
              category: 'system',
              message: `appTerminate hook failed: ${(error as Error).message}`,
            });
          } finally {
            closeApp(app);
            restoreEnv();
          }
        })();
        return closing;
      },
    };
  } catch (error) {
    await timers?.close();
    await running.close();
    closeApp(app);
    restoreEnv();
    throw error;
  }
}
