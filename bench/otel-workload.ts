/**
 * A fixed workload of the observability section, for instruction counts (docs/performance.md,
 * "Where the OpenTelemetry-on overhead goes"): `valgrind --tool=callgrind` counts what runs
 * whatever the machine's load, which wall and CPU time on a shared machine do not.
 *
 * ```sh
 * npm run bench -- --only=observability --quick   # builds node_modules/.cache/vonage-messenger-bench/channels
 * npx esbuild bench/otel-workload.ts --bundle --platform=node --format=esm --packages=external --outfile=.tmp/otel-workload.mjs
 * valgrind --tool=callgrind node .tmp/otel-workload.mjs "$PWD/node_modules/.cache/vonage-messenger-bench/channels" send on 900
 * ```
 *
 * Arguments: the bundle directory, `send` or `ingest`, the mode (`off`; `on`; `nolink`, on with
 * `linkReplies: false`; `metrics` or `traces`, one provider only; `noop`, neither), the count.
 * The bridge is enabled once, before the first request, as the bench's child processes do; the
 * difference between two counts (say 900 and 1 800 requests) is the steady cost per request,
 * without the one-time compiling.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { type MeterProvider as ApiMeterProvider, metrics, ProxyTracerProvider } from '@opentelemetry/api';
import { PAGE_ID, psidFor } from './lib/context.js';
import { type BenchCredentials, generateCredentials } from './lib/keys.js';
import { silentProviders } from './lib/otel-sdk.js';
import { startStubApi } from './lib/server.js';
import { inboundTextBody, signRequest } from './lib/sign.js';
import { type MessengerLike, openWindow } from './lib/subject.js';
import type { OtelVariant } from './lib/variants.js';

const [dir, op = 'send', mode = 'on', countArg = '900'] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: otel-workload <bundle dir> <send|ingest> <mode> <count>');
const count = Number(countArg);
// RSA key generation under valgrind takes long: generated once, kept next to the bundle.
const credentialsFile = `${dir}/../otel-workload-credentials.json`;
if (!existsSync(credentialsFile)) writeFileSync(credentialsFile, JSON.stringify(generateCredentials()));
const credentials = JSON.parse(readFileSync(credentialsFile, 'utf8')) as BenchCredentials;
const index = (await import(`${dir}/index.mjs`)) as Record<string, unknown>;
const otel = (await import(`${dir}/otel.mjs`)) as Record<string, unknown>;
const createMessenger = index.createMessenger as OtelVariant['createMessenger'];
const memoryStore = index.memoryStore as OtelVariant['memoryStore'];
const enableOpenTelemetry = otel.enableOpenTelemetry as OtelVariant['enableOpenTelemetry'];

const stub = await startStubApi();
const messenger: MessengerLike = createMessenger({ ...credentials, apiHost: stub.url, store: memoryStore() });
const user = psidFor(1);
await openWindow(messenger, user);
const { meterProvider, tracerProvider } = silentProviders();
const noMeter: ApiMeterProvider = metrics.getMeterProvider();
const noTracer = new ProxyTracerProvider();
const enable = (): (() => void) =>
  mode === 'off'
    ? () => {}
    : enableOpenTelemetry({
        meterProvider: mode === 'traces' || mode === 'noop' ? noMeter : meterProvider,
        tracerProvider: mode === 'metrics' || mode === 'noop' ? noTracer : tracerProvider,
        linkReplies: mode === 'on',
      });

const requests =
  op === 'ingest'
    ? Array.from({ length: count }, (_, i) =>
        signRequest(
          inboundTextBody(PAGE_ID, psidFor(i % 1000), randomUUID(), new Date()),
          credentials.signatureSecret,
          credentials.applicationId,
        ),
      )
    : [];
// Enabled once, as an app does and as the bench's child processes do.
const disable = enable();
for (let i = 0; i < count; i++) {
  const request = requests[i];
  if (request === undefined) {
    await messenger.sendText({
      from: PAGE_ID,
      to: user,
      text: 'Your order #1234 has shipped and will arrive on Thursday.',
    });
  } else {
    await messenger.receive({ headers: request.headers, body: request.body });
  }
}
disable();
await messenger.close?.();
await stub.close();
await tracerProvider.shutdown();
await meterProvider.shutdown();
