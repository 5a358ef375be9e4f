// `SANDBOX_TELEMETRY_FILE=<path>`: the sandbox registers OpenTelemetry's SDK (metrics and traces) in its
// process, which hosts the broker, and appends every exported span and metric collection to the file as
// JSON lines, so a test can read everything the broker recorded. The broker itself only uses the API.
import { appendFileSync } from 'node:fs';
import { metrics, trace } from '@opentelemetry/api';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

const SUCCESS = { code: 0 };

export function captureTelemetry(file: string): { shutdown(): Promise<void> } {
  const write = (record: unknown) => appendFileSync(file, `${JSON.stringify(record)}\n`);
  const spans: SpanExporter = {
    export(batch, done) {
      for (const span of batch)
        write({ type: 'span', name: span.name, attributes: span.attributes, status: span.status.code });
      done(SUCCESS);
    },
    shutdown: async () => undefined,
  };
  const metricExporter: PushMetricExporter = {
    export(resourceMetrics, done) {
      write({
        type: 'metrics',
        metrics: resourceMetrics.scopeMetrics.flatMap((scope) =>
          scope.metrics.map((metric) => ({
            name: metric.descriptor.name,
            points: metric.dataPoints.map((point) => ({ attributes: point.attributes, value: point.value })),
          })),
        ),
      });
      done(SUCCESS);
    },
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  };
  const meterProvider = new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 200 })],
  });
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  metrics.setGlobalMeterProvider(meterProvider);
  trace.setGlobalTracerProvider(tracerProvider);
  return {
    shutdown: async () => {
      await Promise.all([meterProvider.shutdown(), tracerProvider.shutdown()]);
    },
  };
}
