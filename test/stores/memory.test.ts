import { memoryStore } from '../../src/store/memory.js';
import { describeSessionStore } from '../../src/testing/conformance.js';

describeSessionStore('memoryStore', () => memoryStore(), {
  lacks: [{ reason: 'one process: the SDK limits sends in process', capabilities: ['takeToken'] }],
});
