/**
 * The slice of the SDK the bench drives, typed structurally so the harness compiles while
 * the real modules are still landing. Loaded from the built dist/, as users get it (built.ts).
 */
import { randomUUID } from 'node:crypto';
import type { SessionStore } from '../../src/store/types.js';
import { builtModule, ensureBuilt } from './built.js';
import { PAGE_ID, type SectionContext } from './context.js';

export interface MessengerLike {
  sendText(input: { from: string; to: string; text: string }): Promise<{ messageUuid: string }>;
  recordInbound(input: {
    from: string;
    to: string;
    timestamp: Date | string | number;
    messageUuid: string;
  }): Promise<unknown>;
  receive(request: { headers: Record<string, string>; body: string }): Promise<unknown>;
  close?(): Promise<void>;
}

export interface MessengerOptionsLike {
  applicationId: string;
  privateKey: string;
  signatureSecret?: string;
  apiHost?: string;
  store?: SessionStore;
  transport?: 'http' | 'vonage-sdk';
}

export type CreateMessenger = (options: MessengerOptionsLike) => MessengerLike;

/** A function export of a built entry point (`index`, `redis`, …), building dist/ first if needed. */
export async function loadBuilt<T>(entry: string, name: string): Promise<T | undefined> {
  ensureBuilt((line) => process.stderr.write(`  … ${line}\n`));
  const mod = await builtModule(entry);
  return typeof mod[name] === 'function' ? (mod[name] as T) : undefined;
}

export async function loadCreateMessenger(): Promise<CreateMessenger | undefined> {
  return loadBuilt<CreateMessenger>('index', 'createMessenger');
}

export async function loadMemoryStore(): Promise<
  (options?: { maxConversations?: number; maxClaims?: number }) => SessionStore
> {
  const memoryStore = await loadBuilt<(o?: object) => SessionStore>('index', 'memoryStore');
  if (memoryStore === undefined) throw new Error('dist/index.js does not export memoryStore');
  return memoryStore;
}

/** Opens the window for (PAGE_ID, psid): the user wrote a minute ago (or `agoMs` ago). */
export async function openWindow(messenger: MessengerLike, psid: string, agoMs = 60_000): Promise<void> {
  await messenger.recordInbound({
    from: psid,
    to: PAGE_ID,
    timestamp: new Date(Date.now() - agoMs),
    messageUuid: randomUUID(),
  });
}

export function reportMissing(ctx: SectionContext, section: string, names: string[], module: string): void {
  for (const name of names)
    ctx.pending.push({ section, name, reason: `${module} has not landed yet (placeholder export)` });
}
