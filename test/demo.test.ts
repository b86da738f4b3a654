import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createNarrator, wantsColor } from '../scripts/demo/narrator.js';
import { runTimeline } from '../scripts/demo/timeline.js';
import { definePolicy } from '../src/policy.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node --import tsx scripts/demo.ts`, as `npm run demo` does, with stdout piped (not a TTY). */
function runDemo(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/demo.ts', ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('npm run demo', () => {
  it('plays every step as narrated and exits 0, in plain text when stdout is not a terminal', async () => {
    const run = await runDemo();
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = run.stdout;
    // No ANSI escapes: stdout is a pipe here.
    expect(out).not.toContain('\u001b[');
    const expected = [
      '[Day 1 09:00] The user writes to the Page: "Hi! Where is my order #1042?"',
      '✓ webhook verified (HS256 JWT, body hash, fresh iat, unseen jti) and recorded: HTTP 200',
      '✓ the 24-hour window is open until Day 2 08:59',
      'allowed, sent (202), status webhooks: submitted → delivered → read',
      '[Day 2 06:59] The bot lists the conversations whose window closes within 2 hours',
      '✓ listed: user 25381719828140932, standard window, closes Day 2 08:59, in 2 hours',
      '[Day 2 06:59] A support agent answers in time',
      '✓ allowed as a plain reply (category response, no tag needed), sent and delivered',
      '[Day 2 10:00] 25 hours later, the bot tries a follow-up',
      '✓ blocked before the network: WindowClosedError (window_closed); sandbox requests 2 → 2',
      '✓ allowed (category message_tag, tag HUMAN_AGENT), sent and delivered',
      '[Day 9 09:00] 8 days after the user wrote',
      '✓ blocked before the network: WindowClosedError (tag_window_closed); sandbox requests 3 → 3',
      '✓ blocked before the network: WindowClosedError (retired_tag); sandbox requests 3 → 3',
      "✓ the window opens again: the bot's reply is allowed and delivered",
      '✓ rejected with HTTP 401; the bot never saw it and the store is unchanged',
      '✓ the first send is accepted (202), then rejected by status webhook: 1370',
      '✓ the next send fails fast: PageNotLinkedError (1370); sandbox requests 5 → 5',
      '✓ sends work again: allowed, sent and delivered',
      '✓ All 10 steps behaved as narrated.',
    ];
    let from = 0;
    for (const line of expected) {
      const at = out.indexOf(line, from);
      expect(at, `missing or out of order: ${line}`).toBeGreaterThanOrEqual(0);
      from = at + line.length;
    }
    expect(out).not.toContain('✗');
  });

  it('exits 2 with the list of missing variables for --live without its environment', async () => {
    const run = await runDemo(['--live'], { VONAGE_APPLICATION_ID: 'app-id' });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('demo --live needs these environment variables:');
    for (const name of ['VONAGE_PRIVATE_KEY', 'VONAGE_SIGNATURE_SECRET', 'PAGE_ID']) {
      expect(run.stderr).toContain(`  ${name}: `);
    }
    expect(run.stderr).not.toContain('VONAGE_APPLICATION_ID:');
  });
});

describe('the demo timeline', () => {
  it('stops at the first step that does not behave as narrated, says which, and resolves false', async () => {
    let out = '';
    // A messenger whose window lasts 26 hours lets the 25-hour follow-up through: step 3 must fail.
    const ok = await runTimeline({
      narrator: createNarrator({ color: false, write: (text) => (out += text) }),
      policy: definePolicy({ standardWindowMs: 26 * 60 * 60 * 1000 }),
    });
    expect(ok).toBe(false);
    expect(out).toContain('✓ listed: user 25381719828140932, standard window, closes Day 2 10:59, in 2 hours');
    expect(out).toContain(
      '✗ Step 3 (25 hours later a reply is blocked) did not behave as narrated: expected canSend to refuse a reply 25 hours after the user wrote',
    );
    expect(out).not.toContain('All 10 steps');
  });

  it('colors its output only for a terminal without NO_COLOR', () => {
    expect(wantsColor({ isTTY: true }, {})).toBe(true);
    expect(wantsColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(wantsColor({ isTTY: false }, {})).toBe(false);
    expect(wantsColor({}, {})).toBe(false);
    let colored = '';
    createNarrator({ color: true, write: (text) => (colored += text) }).ok('fine');
    expect(colored).toBe('  \u001b[32m✓\u001b[0m fine\n');
  });
});
