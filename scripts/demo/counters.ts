/**
 * The counters `--live` prints when it stops: `vonage-messenger/otel` into an in-process
 * OpenTelemetry MeterProvider, read once at the end (no exporter, no backend).
 */
import { type DataPoint, type Histogram, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { enableOpenTelemetry } from '../../src/otel/index.js';

class EndReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

const label = (attributes: Record<string, unknown>) =>
  Object.entries(attributes)
    .map(([k, v]) => `${k.replace(/^messenger\./, '')}=${String(v)}`)
    .join(' ');

/**
 * Starts counting; `report()` gives one line per data point (counters: the count;
 * histograms: how many and the mean), `stop()` unsubscribes.
 */
export function startCounters(): { report(): Promise<string[]>; stop(): Promise<void> } {
  const reader = new EndReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  // Metrics only: a tracer that records nothing (no span processor).
  const disable = enableOpenTelemetry({ meterProvider, linkReplies: false });
  return {
    async report() {
      const { resourceMetrics } = await reader.collect();
      const lines: string[] = [];
      for (const metric of resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)) {
        for (const point of metric.dataPoints as DataPoint<number | Histogram>[]) {
          const where = label(point.attributes);
          if (typeof point.value === 'number') lines.push(`${metric.descriptor.name} {${where}} ${point.value}`);
          else {
            const { count, sum } = point.value;
            const mean = count === 0 ? 0 : ((sum ?? 0) / count) * 1000;
            lines.push(`${metric.descriptor.name} {${where}} ${count} × mean ${mean.toFixed(1)} ms`);
          }
        }
      }
      return lines;
    },
    async stop() {
      disable();
      await meterProvider.shutdown();
    },
  };
}
