// Start-up and shutdown of the local host: refusals, hooks, port conflicts, metadata, environment.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalHost } from '../../../sandbox/host/localHost.js';
import { fixture, fixtureEnv, startFixture } from './hostHarness.js';

declare global {
  // Written by the fixture app's appTerminate hook.
  var hostAppTerminated: string[] | undefined;
}

afterEach(() => {
  globalThis.hostAppTerminated = undefined;
});

describe('refusing what the host cannot host', () => {
  it.each([
    ['host-app-queue', /function "onQueueMessage": trigger type "queueTrigger" is not supported/],
    ['host-app-output', /function "enqueue": output binding "\w+" of type "queue" is not supported/],
    [
      'host-app-cron5',
      /function "everyFiveMinutes": timer schedule "\*\/5 \* \* \* \*" has 5 fields; NCRONTAB needs 6/,
    ],
    ['host-app-constraint', /function "byDay": route constraint "datetime" is not supported/],
  ])('refuses %s, naming the function and the binding', async (app, message) => {
    await expect(startLocalHost({ appRoot: fixture(app), port: 0, log: () => {} })).rejects.toThrow(message);
  });

  it('refuses a schedule whose %AppSetting% is not set, naming the function and the setting', async () => {
    await expect(startLocalHost({ appRoot: fixture('host-app'), port: 0, log: () => {} })).rejects.toThrow(
      /function "nightly": '%NIGHTLY_SCHEDULE%' does not resolve to a value/,
    );
  });

  it('releases the port when start-up is refused', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => blocker.close(() => resolve()));

    await expect(
      startLocalHost({ appRoot: fixture('host-app-queue'), port, log: () => {} }),
    ).rejects.toThrow();
    const retry = await startFixture('host-app-prefix', { port });

    expect(retry.host.port).toBe(port);
    await retry.host.close();
  });
});

describe('port already in use', () => {
  it('fails fast with a message naming the port', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await expect(
        startLocalHost({ appRoot: fixture('host-app'), port, env: fixtureEnv, log: () => {} }),
      ).rejects.toThrow(`port ${port} on 127.0.0.1 is already in use`);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});

describe('hooks', () => {
  it('runs appStart before serving, preInvocation (which may replace the handler) and postInvocation', async () => {
    const { host } = await startFixture('host-app', { env: fixtureEnv, timers: false });
    try {
      const wrapped = await fetch(`${host.url}/api/wrapped`);
      const events = (await (await fetch(`${host.url}/api/hookEvents`)).json()) as string[];

      expect(await wrapped.text()).toBe('replaced by preInvocation');
      expect(events.slice(0, 4)).toEqual(['appStart', 'pre:wrapped', 'post:wrapped:true', 'pre:hookEvents']);
    } finally {
      await host.close();
    }
  });

  it('runs appTerminate on close with the app-level hook data appStart wrote', async () => {
    const { host } = await startFixture('host-app', { env: fixtureEnv, timers: false });

    await host.close();
    await host.close();

    expect(globalThis.hostAppTerminated).toEqual(['appStart']);
  });

  it('lets a log hook rewrite the app’s own log lines', async () => {
    const { host, logs } = await startFixture('host-app', { env: fixtureEnv, timers: false });
    try {
      await fetch(`${host.url}/api/logsToken`);

      const lines = logs
        .filter((l) => l.functionName === 'logsToken' && l.category === 'user')
        .map((l) => l.message);
      expect(lines).toEqual(['token=***']);
    } finally {
      await host.close();
    }
  });
});

describe('registrations outside a load', () => {
  it('skips a registration made while no host is loading, instead of adding it to the running app', async () => {
    const { host } = await startFixture('host-app-prefix');
    try {
      const { app } = await import('@azure/functions');

      expect(() => app.http('stray', { handler: async () => ({ body: 'stray' }) })).not.toThrow();
      expect((await fetch(`${host.url}/v1/stray`)).status).toBe(404);
      expect(host.functions.map((f) => f.name)).not.toContain('stray');
    } finally {
      await host.close();
    }
  });
});

describe('metadata and environment', () => {
  it('lists the functions with their bindings as registered', async () => {
    const { host } = await startFixture('host-app', { env: fixtureEnv, timers: false });
    try {
      const echo = host.functions.find((f) => f.name === 'echo');
      const nightly = host.functions.find((f) => f.name === 'nightly');

      expect(echo).toMatchObject({
        trigger: 'httpTrigger',
        route: 'echo/{id:int}/{name?}',
        methods: ['GET', 'POST', 'PUT'],
        authLevel: 'anonymous',
        url: `${host.url}/api/echo/{id:int}/{name?}`,
      });
      expect(Object.values(echo?.bindings ?? {}).map((b) => [b.type, b.direction])).toEqual([
        ['httpTrigger', 'in'],
        ['http', 'out'],
      ]);
      expect(nightly).toMatchObject({ trigger: 'timerTrigger', schedule: '0 0 3 * * *', runOnStartup: true });
    } finally {
      await host.close();
    }
  });

  it('sets app settings while running and restores the environment on close', async () => {
    const { host } = await startFixture('host-app', {
      env: { ...fixtureEnv, HOST_TEST_SETTING: 'on' },
      timers: false,
    });

    expect(process.env.HOST_TEST_SETTING).toBe('on');
    await host.close();

    expect(process.env.HOST_TEST_SETTING).toBeUndefined();
    expect(process.env.NIGHTLY_SCHEDULE).toBeUndefined();
  });

  it('serves 404 for a function disabled through AzureWebJobs.<name>.Disabled', async () => {
    const { host } = await startFixture('host-app', {
      env: { ...fixtureEnv, 'AzureWebJobs.items.Disabled': 'true' },
      timers: false,
    });
    try {
      expect((await fetch(`${host.url}/api/items`)).status).toBe(404);
      expect(host.functions.find((f) => f.name === 'items')?.disabled).toBe(true);
    } finally {
      await host.close();
    }
  });
});
