import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { keyValueStore, memoryKeyValueTable } from '../../examples/custom-kv-store.js';
import { memoryStore } from '../../src/store/memory.js';
import { sqliteStore } from '../../src/store/sqlite.js';
import { describeDelivery } from './suite.js';

// One memory store shared by both instances: the in-process "fleet".
const shared = memoryStore();
describeDelivery('memoryStore', () => ({ ...shared, close: async () => {} }));

const table = memoryKeyValueTable();
describeDelivery('keyValueStore (examples/custom-kv-store.ts)', () => keyValueStore(table));

const dir = mkdtempSync(join(tmpdir(), 'vm-delivery-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
describeDelivery('sqliteStore (two connections to one file)', () => sqliteStore({ database: join(dir, 'd.db') }));
