/** The custom-store example of docs/stores.md, held to the same conformance suite as ours. */
import { keyValueStore, memoryKeyValueTable } from '../../examples/custom-kv-store.js';
import { describeSessionStore } from '../../src/testing/conformance.js';

describeSessionStore('keyValueStore (examples/custom-kv-store.ts)', () => keyValueStore(memoryKeyValueTable()), {
  lacks: [{ reason: 'the example keeps to the required operations', capabilities: ['takeToken', 'readForSend'] }],
});
