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
