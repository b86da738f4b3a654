// The "OpenTelemetry in ten lines" example of docs/observability.md, verbatim but for the
// import path and the exports (the test flushes the providers): if this breaks, fix the doc too.
import { ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, ConsoleSpanExporter } from '@opentelemetry/sdk-trace-base';
import { enableOpenTelemetry } from '../../../src/otel/index.js';

export function setUp() {
  // Swap the console exporters for your backend's (OTLP, Prometheus, …).
  const meterProvider = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: 60_000 }),
    ],
  });
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new ConsoleSpanExporter())],
  });
  const disable = enableOpenTelemetry({ meterProvider, tracerProvider }); // call disable() on shutdown
  return { meterProvider, tracerProvider, disable };
}
