/**
 * The OpenTelemetry SDK setup every observability measurement uses: a `MeterProvider` whose
 * reader is never collected and a `BasicTracerProvider` whose batch processor exports
 * nowhere, so that what is timed is the recording, never an export.
 */
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

class SilentReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

const nowhere: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };

export function silentProviders(): { meterProvider: MeterProvider; tracerProvider: BasicTracerProvider } {
  return {
    meterProvider: new MeterProvider({ readers: [new SilentReader()] }),
    tracerProvider: new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(nowhere)] }),
  };
}
