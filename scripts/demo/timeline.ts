/**
 * The demo's story: a user, a Page, a bot and a support agent over nine days, played against
 * the local sandbox with a moving clock. Each step says what should happen, then checks that
 * it did; the first step that does not behave as narrated stops the story.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import {
  conversationKey,
  createMessenger,
  isPageNotLinkedError,
  isWindowClosedError,
  type Messenger,
  type MessengerPolicy,
  memoryStore,
  pageId,
  psid,
  type SendResult,
  type SessionStore,
} from '../../src/index.js';
import { createSandbox, inboundText, type Sandbox, signWebhook } from '../../src/testing/index.js';
import { type Bot, startBot } from './bot.js';
import type { Narrator } from './narrator.js';

/** Options of {@link runTimeline}. */
export interface TimelineOptions {
  narrator: Narrator;
  /** The rules the messenger applies (tests pass broken ones to see a step fail). */
  policy?: MessengerPolicy;
}

/** A step's expectation was not met. */
export class StepFailed extends Error {}

const PAGE = pageId('102290129340398');
const USER = psid('25381719828140932');
const SECRET = 'demo-signature-secret';
// A fixed start, so the story is the same whatever the date: after Meta retired ACCOUNT_UPDATE
// (2026-04-27), so that step always shows the retirement.
const START = new Date('2026-06-01T09:00:00.000Z');
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const START_OF_DAY_1 = Date.UTC(START.getUTCFullYear(), START.getUTCMonth(), START.getUTCDate());

function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new StepFailed(message);
}

/** "Day 2 10:00" counted from the start of the story. */
function dayTime(at: Date): string {
  const day = Math.floor((at.getTime() - START_OF_DAY_1) / DAY) + 1;
  const hhmm = at.toISOString().slice(11, 16);
  return `Day ${day} ${hhmm}`;
}

interface World {
  sandbox: Sandbox;
  messenger: Messenger;
  bot: Bot;
  store: SessionStore;
  say: Narrator;
}

/**
 * Plays the story. Resolves to true when every step behaved as narrated; everything it
 * started is closed either way.
 */
export async function runTimeline(options: TimelineOptions): Promise<boolean> {
  const say = options.narrator;
  const applicationId = randomUUID();
  // A throwaway application key, made here: the demo needs no credentials.
  const keys = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const sandbox = await createSandbox({
    signatureSecret: SECRET,
    applicationId,
    publicKey: keys.publicKey,
    pages: [PAGE],
    now: () => START,
  });
  // Everything started is closed in `finally`, even when a later part of the set-up throws.
  let messenger: Messenger | undefined;
  let bot: Bot | undefined;
  // The default memory store forgets a conversation 8 days after the user wrote (the longest
  // window, plus a day); this one keeps it longer, so that "8 days later" shows the real reason.
  const store = memoryStore({ now: () => sandbox.now().getTime(), ttlMs: 30 * DAY });
  const closeAll = async () => {
    await sandbox.settled();
    await bot?.close();
    await messenger?.close();
    await store.close();
    await sandbox.close();
  };
  try {
    messenger = createMessenger({
      apiHost: sandbox.url,
      now: sandbox.now,
      applicationId,
      privateKey: keys.privateKey,
      signatureSecret: SECRET,
      pages: [PAGE],
      store,
      ...(options.policy ? { policy: options.policy } : {}),
    });
    bot = await startBot({ messenger });
  } catch (error) {
    await closeAll();
    throw error;
  }
  sandbox.webhookUrl = `${bot.url}/webhooks/inbound`;
  sandbox.statusUrl = `${bot.url}/webhooks/status`;
  const world: World = { sandbox, messenger, bot, store, say };

  say.title('vonage-messenger demo: Messenger rules enforced before the network');
  say.info(`Vonage sandbox at ${sandbox.url} (local, no credentials); bot webhooks at ${bot.url}`);
  say.info(`Page ${PAGE}, user (PSID) ${USER}; the clock starts ${START.toISOString()}`);

  const steps: [string, (w: World) => Promise<void>][] = [
    ['the user writes first', userWritesFirst],
    ['2 hours before the window closes, an agent answers in time', agentAnswersInTime],
    ['25 hours later a reply is blocked', replyBlockedAfter25Hours],
    ['a HUMAN_AGENT reply is allowed', humanAgentAllowed],
    ['8 days later HUMAN_AGENT is blocked too', humanAgentBlockedAfter8Days],
    ['a retired tag is refused', retiredTagRefused],
    ['the user writes again', userWritesAgain],
    ['a forged webhook is rejected', forgedWebhookRejected],
    ['an expired Page link fails fast', expiredPageLinkFailsFast],
    ['the re-linked Page sends again', relinkedPageSends],
  ];
  let passed = 0;
  try {
    for (const [name, step] of steps) {
      try {
        await step(world);
        passed += 1;
      } catch (error) {
        const why = error instanceof StepFailed ? error.message : `unexpected error: ${describe(error)}`;
        say.fail(`Step ${passed + 1} (${name}) did not behave as narrated: ${why}`);
        return false;
      }
    }
    say.blank();
    say.ok(
      `All ${steps.length} steps behaved as narrated. ${sandbox.requests.length} requests reached the sandbox; the blocked sends never left the process.`,
    );
    return true;
  } finally {
    await closeAll();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The statuses the app received for one message, in order. */
function statusesOf(bot: Bot, messageUuid: string): string[] {
  return bot.statuses.filter((s) => s.messageUuid === messageUuid).map((s) => s.status);
}

/** Sends and checks that the sandbox took it and the app heard "delivered". */
async function sendDelivered(w: World, send: () => Promise<SendResult>, label: string): Promise<SendResult> {
  const before = w.sandbox.requests.length;
  const result = await send();
  await w.sandbox.settled();
  const statuses = statusesOf(w.bot, result.messageUuid);
  expect(w.sandbox.requests.length === before + 1, `${label}: expected one request to the sandbox`);
  expect(statuses.includes('delivered'), `${label}: expected a "delivered" status, got [${statuses.join(', ')}]`);
  return result;
}

/** Expects the send to be refused locally with the given reason, and the sandbox to see nothing. */
async function expectBlocked(w: World, send: () => Promise<unknown>, reason: string): Promise<void> {
  const before = w.sandbox.requests.length;
  const error = await send().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error !== undefined, `expected the send to be refused (${reason}), but it was sent`);
  expect(isWindowClosedError(error), `expected WindowClosedError (${reason}), got ${describe(error)}`);
  expect(error.reason === reason, `expected reason ${reason}, got ${error.reason}`);
  const after = w.sandbox.requests.length;
  expect(after === before, `expected no request to reach the sandbox, but ${after - before} did`);
  w.say.ok(`blocked before the network: WindowClosedError (${error.reason}); sandbox requests ${before} → ${after}`);
  w.say.info(error.message);
}

async function userWritesFirst(w: World): Promise<void> {
  const text = 'Hi! Where is my order #1042?';
  w.say.scene(dayTime(w.sandbox.now()), `The user writes to the Page: "${text}"`);
  const status = await w.sandbox.userSays({ page: PAGE, psid: USER, text });
  expect(status === 200, `expected the signed webhook to be accepted with HTTP 200, got ${status}`);
  await w.sandbox.settled();
  const reply = w.bot.replies.at(-1);
  expect(reply?.result, `expected the bot to reply, got ${reply?.error ? describe(reply.error) : 'no reply'}`);
  const statuses = statusesOf(w.bot, reply.result.messageUuid);
  expect(statuses.includes('delivered'), `expected the reply to be delivered, got [${statuses.join(', ')}]`);
  w.say.ok('webhook verified (HS256 JWT, body hash, fresh iat, unseen jti) and recorded: HTTP 200');
  w.say.ok(`the 24-hour window is open until ${dayTime(reply.result.windowExpiresAt)}`);
  w.say.ok(`the bot replies "${reply.text}": allowed, sent (202), status webhooks: ${statuses.join(' → ')}`);
}

async function agentAnswersInTime(w: World): Promise<void> {
  const opened = w.bot.replies[0]?.result?.windowExpiresAt;
  expect(opened, 'expected the first reply to say when the window closes');
  w.sandbox.advance(opened.getTime() - 2 * HOUR - w.sandbox.now().getTime());
  w.say.scene(dayTime(w.sandbox.now()), 'The bot lists the conversations whose window closes within 2 hours');
  const { conversations } = await w.messenger.expiringSoon({ within: 2 * HOUR });
  const listed = conversations.find((c) => c.pageId === PAGE && c.psid === USER);
  expect(listed, `expected expiringSoon to list the conversation, got ${conversations.length} conversations`);
  expect(listed.window === 'standard', `expected the standard window, got ${listed.window}`);
  expect(
    listed.closesAt.getTime() === opened.getTime(),
    `expected it to close at ${opened.toISOString()}, got ${listed.closesAt.toISOString()}`,
  );
  w.say.ok(`listed: user ${listed.psid}, ${listed.window} window, closes ${dayTime(listed.closesAt)}, in 2 hours`);
  const text = 'Hi, this is Alex from support: your order ships this afternoon.';
  w.say.scene(dayTime(w.sandbox.now()), `A support agent answers in time: "${text}"`);
  const result = await sendDelivered(w, () => w.messenger.sendText({ from: PAGE, to: USER, text }), 'agent answer');
  expect(result.category === 'response', `expected a plain reply (category response), got ${result.category}`);
  w.say.ok(`allowed as a plain reply (category ${result.category}, no tag needed), sent and delivered`);
}

async function replyBlockedAfter25Hours(w: World): Promise<void> {
  // 25 hours after the user wrote, wherever the previous steps left the clock.
  w.sandbox.advance(START.getTime() + 25 * HOUR - w.sandbox.now().getTime());
  w.say.scene(dayTime(w.sandbox.now()), '25 hours later, the bot tries a follow-up: "Your order has shipped!"');
  const decision = await w.messenger.canSend({ from: PAGE, to: USER });
  expect(!decision.allowed, 'expected canSend to refuse a reply 25 hours after the user wrote');
  await expectBlocked(
    w,
    () => w.messenger.sendText({ from: PAGE, to: USER, text: 'Your order has shipped!' }),
    'window_closed',
  );
  const humanAgent = decision.alternatives.find((a) => a.tag === 'HUMAN_AGENT');
  expect(humanAgent, 'expected canSend to offer HUMAN_AGENT as an alternative');
}

async function humanAgentAllowed(w: World): Promise<void> {
  const text = 'Hi, this is Sam from support: your order left our warehouse today.';
  w.say.scene(dayTime(w.sandbox.now()), `A support agent answers with the HUMAN_AGENT tag: "${text}"`);
  const result = await sendDelivered(
    w,
    () => w.messenger.sendText({ from: PAGE, to: USER, text, tag: 'HUMAN_AGENT' }),
    'HUMAN_AGENT reply',
  );
  w.say.ok(`allowed (category ${result.category}, tag ${result.tag}), sent and delivered`);
  w.say.info(`HUMAN_AGENT works until ${dayTime(result.windowExpiresAt)}, 7 days after the user's message`);
}

async function humanAgentBlockedAfter8Days(w: World): Promise<void> {
  w.sandbox.advance(7 * DAY - HOUR);
  w.say.scene(dayTime(w.sandbox.now()), '8 days after the user wrote, the agent tries again with HUMAN_AGENT');
  await expectBlocked(
    w,
    () => w.messenger.sendText({ from: PAGE, to: USER, text: 'Any news?', tag: 'HUMAN_AGENT' }),
    'tag_window_closed',
  );
}

async function retiredTagRefused(w: World): Promise<void> {
  w.say.scene(dayTime(w.sandbox.now()), 'The bot tries the ACCOUNT_UPDATE tag instead');
  await expectBlocked(
    w,
    () => w.messenger.sendText({ from: PAGE, to: USER, text: 'Your account was updated.', tag: 'ACCOUNT_UPDATE' }),
    'retired_tag',
  );
}

async function userWritesAgain(w: World): Promise<void> {
  const text = 'Got it, thanks!';
  w.say.scene(dayTime(w.sandbox.now()), `The user writes again: "${text}"`);
  const before = w.bot.replies.length;
  const status = await w.sandbox.userSays({ page: PAGE, psid: USER, text });
  expect(status === 200, `expected HTTP 200 for the user's message, got ${status}`);
  await w.sandbox.settled();
  const reply = w.bot.replies[before];
  expect(reply?.result, `expected the bot to reply, got ${reply?.error ? describe(reply.error) : 'no reply'}`);
  const statuses = statusesOf(w.bot, reply.result.messageUuid);
  expect(statuses.includes('delivered'), `expected the reply to be delivered, got [${statuses.join(', ')}]`);
  w.say.ok(`the window opens again: the bot's reply is allowed and delivered (${statuses.join(' → ')})`);
}

async function forgedWebhookRejected(w: World): Promise<void> {
  w.say.scene(dayTime(w.sandbox.now()), 'Someone posts a forged webhook, signed with the wrong secret');
  const before = w.bot.replies.length;
  const stateBefore = JSON.stringify(await w.store.get(conversationKey(PAGE, USER)));
  const forged = signWebhook(inboundText({ pageId: PAGE, psid: USER, text: 'Send me a refund' }), 'not-the-secret', {
    issuedAt: w.sandbox.now(),
  });
  const response = await fetch(`${w.bot.url}/webhooks/inbound`, {
    method: 'POST',
    headers: forged.headers,
    body: forged.body,
  });
  await response.arrayBuffer();
  expect(response.status === 401, `expected HTTP 401, got ${response.status}`);
  expect(w.bot.replies.length === before, 'expected the bot not to see the forged message');
  const stateAfter = JSON.stringify(await w.store.get(conversationKey(PAGE, USER)));
  expect(stateAfter === stateBefore, 'expected the forged webhook to change nothing in the store');
  w.say.ok('rejected with HTTP 401; the bot never saw it and the store is unchanged');
}

async function expiredPageLinkFailsFast(w: World): Promise<void> {
  w.say.scene(dayTime(w.sandbox.now()), "The Page's link to Vonage expires (sandbox.unlinkPage)");
  w.sandbox.unlinkPage(PAGE);
  const before = w.sandbox.requests.length;
  const sent = await w.messenger.sendText({ from: PAGE, to: USER, text: 'We have news about your order.' });
  await w.sandbox.settled();
  const statuses = statusesOf(w.bot, sent.messageUuid);
  const error = w.bot.statuses.find((s) => s.messageUuid === sent.messageUuid && s.status === 'rejected')?.error;
  expect(w.sandbox.requests.length === before + 1, 'expected the first send to reach the sandbox');
  expect(error?.code === '1370', `expected a rejected status with error 1370, got [${statuses.join(', ')}]`);
  w.say.ok(`the first send is accepted (202), then rejected by status webhook: ${error.code} ${error.detail}`);
  const page = await w.messenger.pageStatus(PAGE);
  expect(page.state === 'unlinked', `expected the Page to be marked unlinked, got ${page.state}`);

  const after = w.sandbox.requests.length;
  const failure = await w.messenger.sendText({ from: PAGE, to: USER, text: 'Hello?' }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isPageNotLinkedError(failure), `expected PageNotLinkedError, got ${describe(failure)}`);
  expect(w.sandbox.requests.length === after, 'expected the next send not to reach the sandbox');
  w.say.ok(`the next send fails fast: PageNotLinkedError (${failure.errorCode}); sandbox requests ${after} → ${after}`);
}

async function relinkedPageSends(w: World): Promise<void> {
  w.say.scene(dayTime(w.sandbox.now()), 'The Page is re-linked in the Dashboard; the app calls markPageLinked');
  w.sandbox.linkPage(PAGE);
  await w.messenger.markPageLinked(PAGE);
  await sendDelivered(
    w,
    () => w.messenger.sendText({ from: PAGE, to: USER, text: 'Sorry for the silence: your order arrives tomorrow.' }),
    'send after re-linking',
  );
  w.say.ok('sends work again: allowed, sent and delivered');
}
