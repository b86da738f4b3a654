/**
 * The OpenTelemetry SDK setup every observability measurement uses: a `MeterProvider` whose
 * reader is never collected and a `BasicTracerProvider` whose batch processor exports
 * nowhere, so that what is timed is the recording, never an export.
 */
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';

class SilentReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

const nowhere: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };

/**
 * `sampleRatio`: the share of root spans recorded (the SDK's `TraceIdRatioBasedSampler` behind
 * `ParentBasedSampler`, as production tracing is often set up); every span when omitted (the
 * SDK's default sampler).
 */
export function silentProviders(sampleRatio?: number): {
  meterProvider: MeterProvider;
  tracerProvider: BasicTracerProvider;
} {
  const sampler =
    sampleRatio === undefined ? undefined : new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(sampleRatio) });
  return {
    meterProvider: new MeterProvider({ readers: [new SilentReader()] }),
    tracerProvider: new BasicTracerProvider({
      spanProcessors: [new BatchSpanProcessor(nowhere)],
      ...(sampler === undefined ? {} : { sampler }),
    }),
  };
}
