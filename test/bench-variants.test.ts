/**
 * The observability bench compares the SDK with a build whose diagnostics module is swapped for
 * bench/lib/no-diagnostics.ts. That stand-in must export every name the SDK imports from
 * src/diagnostics.ts, or the "channels present, unsubscribed" rows cannot be measured (a
 * missing export broke that build once): both builds are made and used here.
 */
import { describe, expect, it } from 'vitest';
import { loadVariants } from '../bench/lib/variants.js';
import type { createMessenger } from '../src/messenger.js';
import { inboundText } from '../src/testing/builders.js';
import { signWebhook } from '../src/testing/sign.js';

describe('the bench builds of the SDK, with and without the diagnostics channels', () => {
  it('both bundle, load, and receive a signed webhook', async () => {
    const { channels, none } = await loadVariants();
    for (const variant of [channels, none]) {
      // The bench types only what it calls; the bundles export the SDK's own createMessenger.
      const messenger = (variant.createMessenger as unknown as typeof createMessenger)({
        apiKey: 'test-api-key',
        apiSecret: 'secret',
        signatureSecret: 'bench-secret',
        store: variant.memoryStore(),
      });
      const { headers, body } = signWebhook(inboundText({ text: 'hi' }), 'bench-secret');
      const { event } = await messenger.receive({ headers, body });
      expect(event.kind).toBe('message');
      await messenger.close();
    }
  }, 60_000);
});
