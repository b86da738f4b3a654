import { memoryStore } from '../../src/store/memory.js';
import { describeSessionStore } from '../../src/testing/conformance.js';

describeSessionStore('memoryStore', () => memoryStore());
