// Runs one invocation through the library's own InvocationModel, step for step as the worker's InvocationHandler.
//
// getInvocationModel → getArguments → preInvocation hooks → invokeFunction → postInvocation hooks →
// getResponse (azure-functions-nodejs-worker src/eventHandlers/InvocationHandler.ts), so the
// RPC-to-HttpRequest and result-to-RPC conversions are the library's, not ours (local-components.md §2).
import { randomBytes, randomUUID } from 'node:crypto';
import type { AppRegistry, RegisteredFunction } from './appRegistry.js';
import { currentProgrammingModel } from './coreApi.js';
import type {
  CoreInvocationContext,
  HookCallback,
  HookData,
  RpcInvocationRequest,
  RpcInvocationResponse,
} from './coreTypes.js';

/** What the host knows about one invocation before the worker sees it. */
export interface InvocationInput {
  /** Why the host runs it, for the `Executing` log line ("Timer fired at ...", ...). */
  reason: string;
  inputData: RpcInvocationRequest['inputData'];
  triggerMetadata?: RpcInvocationRequest['triggerMetadata'];
  retryContext?: RpcInvocationRequest['retryContext'];
  /** An incoming W3C `traceparent`; its trace id is kept, as ASP.NET's activity does. */
  traceparent?: string | undefined;
}

function readOnly(name: string): never {
  throw Object.assign(new TypeError(`Cannot assign to read only property '${name}'`), {
    isAzureFunctionsSystemError: true,
  });
}

/** The worker treats anything thrown, even a string, as an error (errors.ts `isError`). */
const isError = (value: unknown): boolean => value !== null && value !== undefined;

async function runHooks(hooks: HookCallback[], context: object): Promise<void> {
  // In registration order, awaited one by one; a throwing hook fails the invocation.
  for (const hook of [...hooks]) await hook(context);
}

// Trace and span ids come from a pool of random bytes refilled 4 KiB at a time: a call into the kernel per
// invocation (randomBytes), or three randomUUIDs cut to size, showed in the host's profile (bench/README.md).
let pool = '';
const randomHex = (digits: 32 | 16): string => {
  if (pool.length < digits) pool = randomBytes(4096).toString('hex');
  const hex = pool.slice(0, digits);
  pool = pool.slice(digits);
  return hex;
};

function traceParentFor(incoming: string | undefined): string {
  const traceId =
    /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(incoming ?? '')?.[1] ?? randomHex(32);
  return `00-${traceId}-${randomHex(16)}-00`;
}

async function invokeThroughModel(
  app: AppRegistry,
  fn: RegisteredFunction,
  request: RpcInvocationRequest & { invocationId: string },
): Promise<RpcInvocationResponse> {
  const model = currentProgrammingModel();
  if (!model) throw new Error('no programming model was set through @azure/functions-core');
  const functionName = fn.metadata.name;
  let invocationContext: unknown;
  const coreCtx: CoreInvocationContext = {
    invocationId: request.invocationId,
    request,
    metadata: fn.metadata,
    state: undefined,
    log(level, category, message) {
      app.emit(
        { level, category, message, functionName, invocationId: request.invocationId },
        invocationContext,
      );
    },
  };
  const invocationModel = await model.getInvocationModel(coreCtx);
  const hookData: HookData = {};
  const args = await invocationModel.getArguments();
  const context = args.context;
  let inputs = args.inputs;
  invocationContext = context;
  let callback = fn.callback;

  // The hook contexts are seen only by hooks: with none registered, none is built and the hook phase is
  // skipped (a measurable share of the host's time per invocation, bench/README.md).
  const hookPhase = async <T extends object>(
    state: CoreInvocationContext['state'],
    hooks: HookCallback[],
    fields: T,
  ): Promise<T> => {
    const hookContext = withReadOnlyHookFields(fields, hookData, app.appHookData, context);
    coreCtx.state = state;
    try {
      await runHooks(hooks, hookContext);
    } finally {
      coreCtx.state = undefined;
    }
    return hookContext;
  };
  if (app.hooks.preInvocation.length > 0) {
    const pre = await hookPhase('preInvocationHooks', app.hooks.preInvocation, {
      functionCallback: callback,
      inputs,
    });
    inputs = pre.inputs;
    callback = pre.functionCallback;
  }

  let result: unknown = null;
  let error: unknown = null;
  coreCtx.state = 'invocation';
  try {
    result = await invocationModel.invokeFunction(context, inputs, callback);
  } catch (thrown) {
    error = thrown;
  } finally {
    coreCtx.state = undefined;
  }
  if (app.hooks.postInvocation.length > 0) {
    const post = await hookPhase('postInvocationHooks', app.hooks.postInvocation, { inputs, result, error });
    result = post.result;
    error = post.error;
  }
  if (isError(error)) throw error;
  return invocationModel.getResponse(context, result);
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `Exception: ${error.message}\nStack: ${error.stack ?? ''}`;
  return `Exception: ${typeof error === 'string' ? error : JSON.stringify(error)}`;
}

/**
 * Runs one invocation with a fresh invocation id and the host's `Executing`/`Executed` lines.
 * Resolves with the worker's response; rejects with whatever the handler or a hook threw, after
 * logging it at error level with the function name (the caller decides what the client sees).
 */
export async function runInvocation(
  app: AppRegistry,
  fn: RegisteredFunction,
  input: InvocationInput,
): Promise<RpcInvocationResponse> {
  const invocationId = randomUUID();
  const functionName = fn.metadata.name;
  const started = performance.now();
  const hostLine = (level: 'information' | 'error', message: string) =>
    app.sink({ level, category: 'system', message, functionName, invocationId });
  hostLine(
    'information',
    `Executing 'Functions.${functionName}' (Reason='${input.reason}', Id=${invocationId})`,
  );
  const request: RpcInvocationRequest & { invocationId: string } = {
    invocationId,
    functionId: fn.metadata.functionId,
    inputData: input.inputData,
    triggerMetadata: input.triggerMetadata ?? {},
    traceContext: { traceParent: traceParentFor(input.traceparent), traceState: '' },
    ...(input.retryContext ? { retryContext: input.retryContext } : {}),
  };
  try {
    const response = await invokeThroughModel(app, fn, request);
    const ms = Math.round(performance.now() - started);
    hostLine(
      'information',
      `Executed 'Functions.${functionName}' (Succeeded, Id=${invocationId}, Duration=${ms}ms)`,
    );
    return response;
  } catch (error) {
    const ms = Math.round(performance.now() - started);
    hostLine(
      'error',
      `Executed 'Functions.${functionName}' (Failed, Id=${invocationId}, Duration=${ms}ms)\nResult: Failure\n${describeError(error)}`,
    );
    throw error;
  }
}

/**
 * Adds the worker's read-only hook fields (hookData, appHookData, invocationContext) to a hook
 * context: reading returns the value, assigning throws as the worker does.
 */
function withReadOnlyHookFields<T extends object>(
  fields: T,
  hookData: HookData,
  appHookData: unknown,
  context: unknown,
): T & { readonly hookData: HookData; readonly appHookData: unknown; readonly invocationContext: unknown } {
  const readOnlyField = (name: string, value: unknown): PropertyDescriptor => ({
    enumerable: true,
    get: () => value,
    set: () => readOnly(name),
  });
  return Object.defineProperties(fields, {
    hookData: readOnlyField('hookData', hookData),
    appHookData: readOnlyField('appHookData', appHookData),
    invocationContext: readOnlyField('invocationContext', context),
  }) as T & {
    readonly hookData: HookData;
    readonly appHookData: unknown;
    readonly invocationContext: unknown;
  };
}
