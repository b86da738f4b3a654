import { memoryStore } from '../../src/store/memory.js';
import { describeSessionStore } from '../../src/testing/conformance.js';

describeSessionStore('memoryStore', () => memoryStore(), {
  lacks: [
    { reason: 'one process: the SDK limits sends in process', capabilities: ['takeToken'] },
    { reason: 'two in-memory reads cost no round trip', capabilities: ['readForSend'] },
  ],
});
