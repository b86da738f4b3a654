import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import { createSandbox } from '../../src/testing/sandbox.js';

it('takes a clock whose Dates come from another realm (a vm context), as createMessenger does', async () => {
  const foreign = () => runInNewContext('new Date(Date.UTC(2026, 5, 1, 9))') as Date;
  expect(foreign() instanceof Date).toBe(false);
  const sandbox = await createSandbox({ signatureSecret: 'test-signature-secret', now: foreign });
  try {
    expect(sandbox.now().getTime()).toBe(Date.UTC(2026, 5, 1, 9));
  } finally {
    await sandbox.close();
  }
});
