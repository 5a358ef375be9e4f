// Timer triggers in the local host: the schedule, runOnStartup, retries, invokeTimer and the admin endpoint.
import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../../sandbox/host/localHost.js';
import { fixtureEnv, startFixture, waitFor } from './hostHarness.js';

const userLines = (logs: LogEntry[], functionName: string): string[] =>
  logs.filter((l) => l.functionName === functionName && l.category === 'user').map((l) => l.message);

describe('scheduled timers', () => {
  it('fires a six-field schedule with seconds and passes the library Timer object; close stops it', async () => {
    const { host, logs } = await startFixture('host-app', { env: fixtureEnv });
    try {
      await waitFor(() => userLines(logs, 'tick').length >= 2, 4_000, 'two ticks');

      // Sub-minute schedules keep no ScheduleStatus, as useMonitor defaults to off for them.
      expect(userLines(logs, 'tick')[0]).toBe(
        'tick isPastDue=false schedule={"adjustForDST":true} status=null',
      );
    } finally {
      await host.close();
    }
    const ticks = userLines(logs, 'tick').length;
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect(userLines(logs, 'tick').length).toBe(ticks);
  });

  it('runs runOnStartup timers once at start, with a schedule status for a monitored schedule', async () => {
    const { host, logs } = await startFixture('host-app', { env: fixtureEnv });
    try {
      await waitFor(() => userLines(logs, 'nightly').length >= 1, 4_000, 'the startup run');
      const line = userLines(logs, 'nightly')[0] ?? '';
      const status = JSON.parse(line.replace('nightly ran; status=', '')) as Record<string, string>;

      expect(status.last).toBe('0001-01-01T00:00:00');
      expect(new Date(status.next ?? '').getTime()).toBeGreaterThan(Date.now());
      expect(userLines(logs, 'nightly')).toHaveLength(1);
    } finally {
      await host.close();
    }
  });

  it('retries a failing scheduled run by its fixed-delay policy, with the retry context', async () => {
    const { host, logs } = await startFixture('host-app', { env: fixtureEnv });
    try {
      await waitFor(() => userLines(logs, 'flaky').length >= 3, 4_000, 'three attempts');

      expect(userLines(logs, 'flaky')).toEqual([
        'flaky attempt 1 retryCount=0',
        'flaky attempt 2 retryCount=1',
        'flaky attempt 3 retryCount=2',
      ]);
      const failures = logs.filter((l) => l.functionName === 'flaky' && l.level === 'error');
      expect(failures.map((l) => /flaky failure \d/.exec(l.message)?.[0])).toEqual([
        'flaky failure 1',
        'flaky failure 2',
      ]);
    } finally {
      await host.close();
    }
  });

  it('does not schedule anything with timers: false', async () => {
    const { host, logs } = await startFixture('host-app', { env: fixtureEnv, timers: false });
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    await host.close();

    expect(logs.filter((l) => ['tick', 'nightly', 'flaky'].includes(l.functionName ?? ''))).toEqual([]);
  });
});

describe('running timers on demand', () => {
  it('invokeTimer runs the function now and resolves when it is done', async () => {
    const { host, logs } = await startFixture('host-app', { env: fixtureEnv, timers: false });
    try {
      await host.invokeTimer('nightly');

      expect(userLines(logs, 'nightly')).toHaveLength(1);
      await expect(host.invokeTimer('echo')).rejects.toThrow('"echo" is not a timer function');
    } finally {
      await host.close();
    }
  });

  it('POST /admin/functions/<name> answers 202 and runs the timer', async () => {
    const { host, logs } = await startFixture('host-app', { env: fixtureEnv, timers: false });
    try {
      const response = await fetch(`${host.url}/admin/functions/nightly`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ input: '' }),
      });

      expect(response.status).toBe(202);
      expect(await response.text()).toBe('');
      await waitFor(() => userLines(logs, 'nightly').length === 1, 4_000, 'the admin-triggered run');
    } finally {
      await host.close();
    }
  });

  it('answers the admin endpoint as the host does: 404 unknown, 415 not JSON, 400 no body', async () => {
    const { host, logs } = await startFixture('host-app', { env: fixtureEnv, timers: false });
    const post = (name: string, body: string, contentType = 'application/json') =>
      fetch(`${host.url}/admin/functions/${name}`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body,
      });
    try {
      expect((await post('doesNotExist', '{"input":""}')).status).toBe(404);
      expect((await post('nightly', '{"input":""}', 'text/plain')).status).toBe(415);
      expect((await post('nightly', '')).status).toBe(400);
      const http = await post('echo', '{"input":"x"}');

      expect(http.status).toBe(202);
      expect(logs.find((l) => l.functionName === 'echo' && l.level === 'error')?.message).toContain(
        'an HttpRequest is required',
      );
      expect(userLines(logs, 'echo')).toEqual([]);
    } finally {
      await host.close();
    }
  });
});
