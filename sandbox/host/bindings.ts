// Decides, per registered function, whether the local host can host it faithfully, and refuses otherwise.
//
// Hosted: httpTrigger with an http output, and timerTrigger. Anything else (queue, blob, Service Bus,
// Event Hubs, Cosmos DB triggers; any non-http input or output binding) would need an extension the
// local host does not have, so start-up fails with the function and the binding named rather than
// serving an app that silently behaves differently (local-components.md §2, "Limits").
import { Cron } from 'croner';
import type { RegisteredFunction } from './appRegistry.js';
import type { RpcBindingInfo, RpcDuration } from './coreTypes.js';
import { checkNcrontab, ncrontabOptions } from './ncrontab.js';
import { parseRouteTemplate, type RouteTemplate } from './routeTemplate.js';

/** An HTTP-triggered function, ready to route. */
export interface HttpFunction {
  kind: 'http';
  name: string;
  registered: RegisteredFunction;
  triggerName: string;
  /** `$return` or the name of the http output binding. */
  outputName: string | undefined;
  /** Upper-case methods; undefined means every method. */
  methods: string[] | undefined;
  route: RouteTemplate;
  authLevel: string;
  disabled: boolean;
}

/** How a failed timer invocation is retried (the function's `retry` option). */
export interface RetryPolicy {
  strategy: 'fixedDelay' | 'exponentialBackoff';
  /** -1 retries forever. */
  maxRetryCount: number;
  delayMs: number;
  minimumMs: number;
  maximumMs: number;
}

/** A timer-triggered function with its schedule resolved and checked. */
export interface TimerFunction {
  kind: 'timer';
  name: string;
  registered: RegisteredFunction;
  triggerName: string;
  /** The NCRONTAB expression after `%AppSetting%` resolution. */
  schedule: string;
  runOnStartup: boolean;
  /** Whether a ScheduleStatus is kept and passed (the extension's default: interval of a minute or more). */
  useMonitor: boolean;
  retry: RetryPolicy | undefined;
  disabled: boolean;
}

export type HostedFunction = HttpFunction | TimerFunction;

const refuse = (name: string, why: string): Error => new Error(`function "${name}": ${why}`);

/** `%Name%` in a binding property is an app setting, as the host's binding expressions resolve it. */
function resolveAppSettings(name: string, text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(/%([^%]+)%/g, (_, setting: string) => {
    const value = env[setting];
    if (value === undefined)
      throw refuse(name, `'%${setting}%' does not resolve to a value (no app setting "${setting}")`);
    return value;
  });
}

const durationMs = (d: RpcDuration | null | undefined): number =>
  (d?.seconds ?? 0) * 1000 + (d?.nanos ?? 0) / 1e6;

function retryPolicy(fn: RegisteredFunction): RetryPolicy | undefined {
  const options = fn.metadata.retryOptions;
  if (!options) return undefined;
  const strategy = options.retryStrategy;
  if (strategy !== 'fixedDelay' && strategy !== 'exponentialBackoff') {
    throw refuse(fn.metadata.name, `retry strategy "${String(strategy)}" is not supported`);
  }
  return {
    strategy,
    maxRetryCount: options.maxRetryCount ?? 0,
    delayMs: durationMs(options.delayInterval),
    minimumMs: durationMs(options.minimumInterval),
    maximumMs: durationMs(options.maximumInterval),
  };
}

function isDisabled(name: string, env: NodeJS.ProcessEnv): boolean {
  const value = env[`AzureWebJobs.${name}.Disabled`]?.trim().toLowerCase();
  return value === 'true' || value === '1';
}

/** Checks the bindings other than the trigger; returns the name of the http output, if any. */
function checkOtherBindings(
  name: string,
  bindings: [string, RpcBindingInfo][],
  allowHttpOut: boolean,
): string | undefined {
  let httpOutput: string | undefined;
  for (const [bindingName, binding] of bindings) {
    const type = String(binding.type);
    if (binding.direction !== 'out') {
      throw refuse(
        name,
        `input binding "${bindingName}" of type "${type}" is not supported by the local host`,
      );
    }
    if (type.toLowerCase() !== 'http' || !allowHttpOut) {
      throw refuse(
        name,
        `output binding "${bindingName}" of type "${type}" is not supported by the local host`,
      );
    }
    httpOutput ??= bindingName;
  }
  return httpOutput;
}

function describeHttp(
  fn: RegisteredFunction,
  triggerName: string,
  trigger: RpcBindingInfo,
  others: [string, RpcBindingInfo][],
  env: NodeJS.ProcessEnv,
): HttpFunction {
  const name = fn.metadata.name;
  if (fn.metadata.retryOptions) {
    throw refuse(
      name,
      'retry policies are not hosted for HTTP triggers (Azure Functions applies them only to some non-HTTP triggers)',
    );
  }
  const outputName = checkOtherBindings(name, others, true);
  const methods = Array.isArray(trigger.methods)
    ? trigger.methods.map((m) => String(m).toUpperCase())
    : undefined;
  const routeText = typeof trigger.route === 'string' && trigger.route !== '' ? trigger.route : name;
  let route: RouteTemplate;
  try {
    route = parseRouteTemplate(resolveAppSettings(name, routeText, env));
  } catch (error) {
    throw refuse(name, (error as Error).message);
  }
  const authLevel = typeof trigger.authLevel === 'string' ? trigger.authLevel : 'function';
  return {
    kind: 'http',
    name,
    registered: fn,
    triggerName,
    outputName,
    methods,
    route,
    authLevel,
    disabled: isDisabled(name, env),
  };
}

function describeTimer(
  fn: RegisteredFunction,
  triggerName: string,
  trigger: RpcBindingInfo,
  others: [string, RpcBindingInfo][],
  env: NodeJS.ProcessEnv,
): TimerFunction {
  const name = fn.metadata.name;
  checkOtherBindings(name, others, false);
  if (typeof trigger.schedule !== 'string') throw refuse(name, 'timerTrigger has no schedule');
  const schedule = resolveAppSettings(name, trigger.schedule, env).trim();
  checkNcrontab(name, schedule);
  const [first, second] = new Cron(schedule, { ...ncrontabOptions, paused: true }).nextRuns(2);
  const intervalMs = first && second ? second.getTime() - first.getTime() : Number.POSITIVE_INFINITY;
  const useMonitor = typeof trigger.useMonitor === 'boolean' ? trigger.useMonitor : intervalMs >= 60_000;
  return {
    kind: 'timer',
    name,
    registered: fn,
    triggerName,
    schedule,
    runOnStartup: trigger.runOnStartup === true,
    useMonitor,
    retry: retryPolicy(fn),
    disabled: isDisabled(name, env),
  };
}

/**
 * Classifies every registration; throws on the first one the host cannot host, naming the function
 * and the binding type. `env` is the process environment the app settings come from.
 */
export function describeFunctions(
  functions: Iterable<RegisteredFunction>,
  env: NodeJS.ProcessEnv,
): HostedFunction[] {
  const hosted: HostedFunction[] = [];
  for (const fn of functions) {
    const name = fn.metadata.name;
    const entries = Object.entries(fn.metadata.bindings);
    const triggers = entries.filter(([, b]) => b.direction === 'in' && /trigger$/i.test(String(b.type)));
    const [first] = triggers;
    if (!first || triggers.length > 1) throw refuse(name, 'a function needs exactly one trigger binding');
    const [triggerName, trigger] = first;
    const others = entries.filter(([bindingName]) => bindingName !== triggerName);
    const type = String(trigger.type).toLowerCase();
    if (type === 'httptrigger') hosted.push(describeHttp(fn, triggerName, trigger, others, env));
    else if (type === 'timertrigger') hosted.push(describeTimer(fn, triggerName, trigger, others, env));
    else {
      throw refuse(
        name,
        `trigger type "${String(trigger.type)}" is not supported by the local host (it hosts httpTrigger and timerTrigger)`,
      );
    }
  }
  return hosted;
}
