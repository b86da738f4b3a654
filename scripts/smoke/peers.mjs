// The subpaths built on an optional peer, loaded once check-package.sh has linked msw and vitest.
import * as msw from 'vonage-messenger/testing/msw';
import * as stores from 'vonage-messenger/testing/stores';

for (const [name, mod, fn] of [
  ['testing/msw', msw, 'messengerHandlers'],
  ['testing/stores', stores, 'describeSessionStore'],
]) {
  if (typeof mod[fn] !== 'function') throw new Error(`smoke: esm: vonage-messenger/${name} lacks ${fn}()`);
}
console.log('smoke esm: ok (testing/msw and testing/stores with their peers)');

// vonage-messenger/otel subscribes to the root entry's channels (global no-op providers here).
const otel = await import('vonage-messenger/otel');
const disableOtel = otel.enableOpenTelemetry();
if (typeof disableOtel !== 'function') throw new Error('smoke: esm: enableOpenTelemetry() returned no unsubscribe');
disableOtel();
console.log('smoke esm: ok (otel with @opentelemetry/api)');
