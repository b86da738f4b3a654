import { afterEach, expect, it } from 'vitest';
import { startCounters } from '../../scripts/demo/counters.js';
import { playConversation, startWorld, type World } from './conversation.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
});

it("the live demo's counters report sends, webhooks, platform errors and store timings", async () => {
  const counters = startCounters();
  try {
    world = await startWorld();
    await playConversation(world);
    const lines = await counters.report();
    expect(lines).toContain('messenger.sends {outcome=sent message_type=text category=response} 2');
    expect(lines).toContain(
      'messenger.sends {outcome=refused message_type=text category=response reason=window_closed} 1',
    );
    expect(lines).toContain('messenger.webhooks {http.response.status_code=401} 1');
    expect(lines).toContain('messenger.platform_errors {error.code=1340 error.kind=window_closed} 1');
    expect(lines.some((l) => /^messenger\.store\.duration \{store\.operation=get\} \d+ × mean/.test(l))).toBe(true);
  } finally {
    await counters.stop();
  }
});
