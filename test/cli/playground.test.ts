// The chat page in a real browser: Debian's Chromium driven by playwright-core, the sandbox
// run by the packed CLI, and the example Express bot (examples/express-bot.ts) as the bot.
// Under CI=true the browser must start: a missing or broken Chromium fails the test.
import { createPrivateKey, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start } from '../../examples/express-bot.js';
import { signRs256 } from '../../src/send/auth.js';
import { PLATFORM_ERRORS } from '../../src/webhooks/platform.js';
import { type CliProcess, freePort, packedCli, ROOT, startCli } from './packed.js';

// Debian's package; CHROMIUM_PATH points elsewhere (e.g. to check that CI fails without it).
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];
const PAGE_ID = '102290129340398';
const USER = '25381719828140932';
const SCREENSHOT = join(ROOT, '.tmp', 'playground.png');
// Outside CI a machine without Chromium skips; in CI it must run (and fail if it cannot).
const runs = process.env.CI === 'true' || existsSync(CHROMIUM);

interface Listening {
  url: string;
  credentialsDir: string;
  env: { VONAGE_APPLICATION_ID: string; VONAGE_PRIVATE_KEY: string; VONAGE_SIGNATURE_SECRET: string };
}

describe.skipIf(!runs)('the chat page (Chromium, packed CLI, example Express bot)', () => {
  let sandbox: CliProcess;
  let listening: Listening;
  let bot: Awaited<ReturnType<typeof start>>;
  let browser: Browser;

  beforeAll(async () => {
    const bin = await packedCli();
    const botPort = await freePort();
    const botUrl = `http://127.0.0.1:${botPort}`;
    sandbox = startCli(bin, [
      'sandbox',
      '--port',
      '0',
      '--json',
      '--webhook-url',
      `${botUrl}/webhooks/inbound`,
      '--status-url',
      `${botUrl}/webhooks/status`,
    ]);
    listening = JSON.parse(await sandbox.line((line) => line.includes('"listening"'))) as Listening;
    bot = await start({
      applicationId: listening.env.VONAGE_APPLICATION_ID,
      privateKey: listening.env.VONAGE_PRIVATE_KEY,
      signatureSecret: listening.env.VONAGE_SIGNATURE_SECRET,
      apiHost: listening.url,
      port: botPort,
    });
  }, 400_000);

  afterAll(async () => {
    await browser?.close();
    await bot?.close();
    await sandbox?.stop();
    // The credentials the sandbox generated for this run.
    if (listening?.credentialsDir) rmSync(listening.credentialsDir, { recursive: true, force: true });
  });

  it('plays a conversation: reply delivered, 25 h later a raw reply is rejected with 1340, an unlinked Page gives 1370', async () => {
    // Launched in the test, not in a hook: a browser that cannot start fails this test
    // (a failing hook would report it as skipped).
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
    const page: Page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
    await page.goto(`${listening.url}/`);
    await page.waitForSelector('body[data-live="true"]');
    await expect.poll(() => page.textContent('#standard')).toContain('no conversation');

    // Type as the user: the sandbox posts a signed inbound webhook, the bot replies.
    await page.fill('#text', 'Where is my order?');
    await page.press('#text', 'Enter');
    const reply = page.locator('#log li.bot', { hasText: 'You said: "Where is my order?"' });
    await reply.waitFor();
    await expect.poll(() => page.locator('#log li.user').first().textContent()).toContain('webhook → bot 200');
    await expect.poll(() => reply.locator('.status').textContent()).toContain('delivered');
    await expect.poll(() => page.textContent('#standard')).toMatch(/^open, closes in 23 h/);
    await expect.poll(() => page.textContent('#human-agent')).toMatch(/^open, closes in 6 d 23 h 5\d min/);

    // Advance 25 h with the keyboard: the standard window closes, HUMAN_AGENT stays open.
    await page.focus('[data-advance="25h"]');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.textContent('#standard')).toMatch(/^closed 1 h/);
    await expect.poll(() => page.textContent('#human-agent')).toMatch(/^open, closes in 5 d 22 h 5\d min/);

    // A raw request, no SDK guard in front: the platform rejects it with 1340.
    const iat = Math.floor(Date.now() / 1000);
    const jwt = signRs256(
      { jti: randomUUID(), iat, exp: iat + 900, application_id: listening.env.VONAGE_APPLICATION_ID },
      createPrivateKey(readFileSync(listening.env.VONAGE_PRIVATE_KEY)),
    );
    const raw = await fetch(`${listening.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        channel: 'messenger',
        message_type: 'text',
        from: PAGE_ID,
        to: USER,
        text: 'Are you still there?',
      }),
    });
    expect(raw.status).toBe(202);
    const late = page.locator('#log li.bot', { hasText: 'Are you still there?' });
    // The sandbox's texts are Vonage's own (spec v1.20, the SDK's PLATFORM_ERRORS rows).
    await expect
      .poll(() => late.locator('.status').textContent())
      .toBe(`rejected 1340 ${PLATFORM_ERRORS['1340']?.vonage}`);

    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    expect(readFileSync(SCREENSHOT).subarray(1, 4).toString()).toBe('PNG');
    if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(SCREENSHOT, join(ROOT, 'docs', 'playground.png'));

    // Unlink the Page: the user writes (the window opens again), the bot's reply gets 1370.
    await page.click('#link-toggle');
    await expect.poll(() => page.textContent('#linked')).toContain('unlinked');
    await page.fill('#text', 'Hello again');
    await page.press('#text', 'Enter');
    const unlinked = page.locator('#log li.bot', { hasText: 'You said: "Hello again"' });
    await expect
      .poll(() => unlinked.locator('.status').textContent())
      .toBe(`rejected 1370 ${PLATFORM_ERRORS['1370']?.vonage}`);
    await page.click('#link-toggle');
    await expect.poll(() => page.textContent('#linked')).toBe('linked');
  }, 60_000);
});

describe.skipIf(!runs)('the chat page on its own (Chromium, packed CLI, no bot)', () => {
  let sandbox: CliProcess;
  let listening: Listening;
  let browser: Browser;

  beforeAll(async () => {
    sandbox = startCli(await packedCli(), ['sandbox', '--port', '0', '--json', '--page', '111', '--page', '222']);
    listening = JSON.parse(await sandbox.line((line) => line.includes('"listening"'))) as Listening;
  }, 400_000);

  afterAll(async () => {
    await browser?.close();
    await sandbox?.stop();
    if (listening?.credentialsDir) rmSync(listening.credentialsDir, { recursive: true, force: true });
  });

  /** A fresh page on the chat page, live, with the console errors and failed responses it saw. */
  async function open(): Promise<{ page: Page; problems: string[] }> {
    browser ??= await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
    });
    await page.goto(`${listening.url}/`);
    await page.waitForSelector('body[data-live="true"]');
    return { page, problems };
  }

  it('opens on the first --page as its Page ID', async () => {
    const { page } = await open();
    expect(await page.inputValue('#page')).toBe('111');
    expect(await page.inputValue('#psid')).toBe(USER);
    await expect
      .poll(() => page.locator('#pages option').evaluateAll((options) => options.map((o) => o.getAttribute('value'))))
      .toEqual(['111', '222']);
  }, 60_000);

  it('loads without a failed request or a console error, and logs no favicon request', async () => {
    const { page, problems } = await open();
    await expect.poll(() => page.textContent('#standard')).toContain('no conversation');
    await page.reload();
    await page.waitForSelector('body[data-live="true"]');
    expect(problems).toEqual([]);
    expect(sandbox.output()).not.toContain('favicon');
  }, 60_000);

  // Last: it stops the sandbox.
  it('keeps the typed text and says the sandbox is unreachable once it has stopped', async () => {
    const { page } = await open();
    expect(await sandbox.stop('SIGTERM')).toBe(0);
    await page.waitForSelector('body[data-live="false"]');
    await page.fill('#text', 'Anyone there?');
    await page.press('#text', 'Enter');
    await expect.poll(() => page.textContent('#notice')).toContain('The sandbox is unreachable');
    expect(await page.inputValue('#text')).toBe('Anyone there?');
    await expect.poll(() => page.locator('#log li.user').count()).toBe(0);
  }, 60_000);
});
