import {
  type Context,
  type ContextManager,
  context,
  ROOT_CONTEXT,
  type Span,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { inSpan } from '../../shared/telemetry.js';

/** A context manager for synchronous code: enough to see which span is active when `work` starts. */
class StackContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;
  active(): Context {
    return this.current;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    next: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const previous = this.current;
    this.current = next;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.current = previous;
    }
  }
  bind<T>(_context: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.current = ROOT_CONTEXT;
    return this;
  }
}

afterEach(() => {
  trace.disable();
  context.disable();
});

describe('inSpan', () => {
  it('without an SDK, runs the work with a span that records nothing, and passes its result and its error on', async () => {
    let given: Span | undefined;
    await expect(
      inSpan('test.span', {}, async (span) => {
        given = span;
        return 42;
      }),
    ).resolves.toBe(42);
    expect(given?.isRecording()).toBe(false);
    const failure = new RangeError('no');
    await expect(inSpan('test.span', {}, async () => Promise.reject(failure))).rejects.toBe(failure);
  });

  it('with an SDK, makes the span the active one while the work runs, ends it, and marks a failure with its class only', async () => {
    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
    context.setGlobalContextManager(new StackContextManager());
    let active: Span | undefined;
    let given: Span | undefined;
    let recording = false;
    await inSpan('test.granted', { 'broker.test': 'yes' }, async (span) => {
      given = span;
      recording = span.isRecording();
      active = trace.getActiveSpan();
    });
    expect(recording).toBe(true);
    expect(active).toBe(given);
    await expect(
      inSpan('test.failed', {}, async () => {
        throw new TypeError('a message that may carry a payload');
      }),
    ).rejects.toThrow(TypeError);
    const finished = exporter.getFinishedSpans();
    expect(finished.map((span) => span.name)).toEqual(['test.granted', 'test.failed']);
    expect(finished[0]?.attributes).toEqual({ 'broker.test': 'yes' });
    expect(finished[1]?.status.code).toBe(SpanStatusCode.ERROR);
    expect(finished[1]?.attributes).toEqual({ 'error.type': 'TypeError' });
    expect(JSON.stringify([finished[1]?.status, finished[1]?.events])).not.toContain('payload');
  });
});
