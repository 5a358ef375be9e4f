// Metrics and spans through @opentelemetry/api only (issue 10): the broker records, the operator chooses
// the SDK and exporter (the README shows @azure/monitor-opentelemetry). Without an SDK every call is a
// no-op. Attributes are low-cardinality names and codes: never a token, an assertion, a caller's subject
// or email, or a tenant's secret; `test/e2e/telemetry.test.ts` scans every attribute of a run for them.
import {
  type Attributes,
  type Counter,
  context,
  type Histogram,
  isSpanContextValid,
  metrics,
  type Span,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';

const SCOPE = 'entra-token-broker';

interface Instruments {
  exchanges: Counter;
  cacheLookups: Counter;
  refreshes: Counter;
  leaseContention: Counter;
  entraDuration: Histogram;
  requestDuration: Histogram;
}

let instruments: Instruments | undefined;

// Instruments are made on first use, not at import: a meter taken before the operator's SDK registers
// its provider would stay a no-op for the life of the process.
function meter(): Instruments {
  if (instruments) return instruments;
  const m = metrics.getMeter(SCOPE);
  instruments = {
    exchanges: m.createCounter('broker.exchanges', {
      description: 'Token exchange requests, by outcome, HTTP status, reason and AADSTS code',
    }),
    cacheLookups: m.createCounter('broker.token_cache.lookups', {
      description: 'Entra tokens served to callers, by where they came from: local, shared or entra',
    }),
    refreshes: m.createCounter('broker.refreshes', {
      description: 'Target and scope pairs handled by the refresh timer, by outcome',
    }),
    leaseContention: m.createCounter('broker.shared_cache.lease_contention', {
      description: "Fetches that found another instance holding the key's lease",
    }),
    entraDuration: m.createHistogram('broker.entra.duration', {
      description: "Duration of Entra's token endpoint calls",
      unit: 'ms',
    }),
    requestDuration: m.createHistogram('broker.request.duration', {
      description: 'Duration of token exchange requests',
      unit: 'ms',
    }),
  };
  return instruments;
}

export const telemetry = {
  exchange(
    outcome: string,
    status: number,
    reason: string,
    aadsts: number | undefined,
    durationMs: number,
  ): void {
    const attributes: Attributes = {
      outcome,
      'http.response.status_code': status,
      reason,
      ...(aadsts === undefined ? {} : { aadsts }),
    };
    meter().exchanges.add(1, attributes);
    meter().requestDuration.record(durationMs, { outcome });
  },
  cacheLookup(tier: 'local' | 'shared' | 'entra'): void {
    meter().cacheLookups.add(1, { tier });
  },
  refreshed(outcome: 'refreshed' | 'shared' | 'published' | 'skipped' | 'failed', count: number): void {
    if (count > 0) meter().refreshes.add(count, { outcome });
  },
  leaseContended(): void {
    meter().leaseContention.add(1);
  },
  entraCall(outcome: string, aadsts: number | undefined, durationMs: number): void {
    meter().entraDuration.record(durationMs, { outcome, ...(aadsts === undefined ? {} : { aadsts }) });
  },
};

/**
 * Runs `work` in a span named `name`, the span active in the context while it runs. The span records an
 * error's class only, never its message (a library message may carry a URL or a payload).
 *
 * Without an SDK the API hands out a span that records nothing and carries no trace (an invalid span
 * context): putting it in a context would hand nothing on, so `work` runs without the context copy and the
 * extra promise, which were two of the broker's costliest steps per request (bench/README.md, tenth round).
 * A span an SDK sampled out has a valid context and takes the full path, so its children still follow it.
 */
export function inSpan<T>(
  name: string,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const span = trace.getTracer(SCOPE).startSpan(name, { attributes });
  if (!span.isRecording() && !isSpanContextValid(span.spanContext())) return work(span);
  return context.with(trace.setSpan(context.active(), span), () => traced(span, work));
}

async function traced<T>(span: Span, work: (span: Span) => Promise<T>): Promise<T> {
  try {
    return await work(span);
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.setAttribute('error.type', error instanceof Error ? error.name : typeof error);
    throw error;
  } finally {
    span.end();
  }
}
