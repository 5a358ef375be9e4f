// Timer `refreshTokens` (broker.md step 6, issue 10): keeps warm and recently used targets' tokens fresh
// ahead of expiry, so no caller waits on Entra for them; one log line says what it did.
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { Cron } from 'croner';
import { getBroker } from '../shared/broker.js';
import { refreshSchedule } from '../shared/config.js';
import { refreshTokens as refresh } from '../shared/exchange/refreshTokens.js';
import { logEvent, reportFailure } from '../shared/log.js';
import { telemetry } from '../shared/telemetry.js';

const schedule = refreshSchedule();

/** Milliseconds between two runs of the schedule: a token expiring before the next run is refreshed now. */
function periodMs(): number {
  const [next, after] = new Cron(schedule).nextRuns(2);
  return next && after ? after.getTime() - next.getTime() : 5 * 60_000;
}

/** Refreshes, then logs `tokens.refreshed` with the targets refreshed, skipped and failed. */
export async function refreshTokens(_timer: Timer, context: InvocationContext): Promise<void> {
  const started = Date.now();
  try {
    const broker = await getBroker(context);
    // Keys kept in Key Vault are rotated by adding a version: pick it up once per run.
    await broker.exchange.shared?.reloadKeys(context);
    const summary = await refresh(broker.exchange, context, {
      horizonMs: broker.config.TOKEN_REFRESH_BEFORE_EXPIRY_SECONDS * 1000 + periodMs(),
      recentWindowMs: broker.config.TOKEN_REFRESH_RECENT_SECONDS * 1000,
    });
    for (const outcome of ['refreshed', 'shared', 'published', 'skipped', 'failed'] as const)
      telemetry.refreshed(outcome, summary[outcome].length);
    logEvent(context, summary.failed.length > 0 ? 'warn' : 'info', 'tokens.refreshed', {
      ...summary,
      durationMs: Date.now() - started,
    });
  } catch (error) {
    reportFailure(context, 'refreshTokens', error);
  }
}

app.timer('refreshTokens', { schedule, handler: refreshTokens });
