/**
 * The chat page's script (built by tsup to dist/playground.js, an IIFE for the browser). It
 * plays the user (POST /api/say), follows the sandbox live (/events, server-sent events) and
 * drives the clock and the Page link. Plain DOM, no framework.
 *
 * @module
 */
import type { FeedEvent } from '../playground.js';

interface State {
  now: number;
  advancedMs: number;
  page: string;
  psid: string;
  linked: boolean;
  pages: string[];
  users: string[];
  lastInboundAt: number | null;
  standardClosesAt: number | null;
  humanAgentClosesAt: number | null;
  webhookUrl: string | null;
  statusUrl: string | null;
}

type StatusEvent = Extract<FeedEvent, { type: 'status' }>;
type AnsweredEvent = Extract<FeedEvent, { type: 'answered' }>;
type Entry = Exclude<FeedEvent, { type: 'status' } | { type: 'state' } | { type: 'answered' }>;

const byId = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const pageInput = byId<HTMLInputElement>('page');
const psidInput = byId<HTMLInputElement>('psid');
const text = byId<HTMLInputElement>('text');
const log = byId<HTMLOListElement>('log');
const notice = byId('notice');

const entries: Entry[] = [];
const statuses = new Map<string, StatusEvent[]>();
const answers = new Map<string, AnsweredEvent>();
let state: State | undefined;
let offset = 0; // sandbox clock minus this browser's clock

const params = new URLSearchParams(location.search);
// Without a query, the conversation the server wrote into the page (the first --page).
pageInput.value = params.get('page') ?? pageInput.defaultValue;
psidInput.value = params.get('psid') ?? psidInput.defaultValue;

const ID = /^\d{1,32}$/;
const valid = (): boolean => ID.test(pageInput.value) && ID.test(psidInput.value);

function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function span(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts =
    d > 0 ? [`${d} d`, `${h} h`, `${m} min`] : h > 0 ? [`${h} h`, `${m} min`, `${s} s`] : [`${m} min`, `${s} s`];
  return parts.join(' ');
}

function windowText(element: HTMLElement, closesAt: number | null, now: number): void {
  if (closesAt === null) {
    element.className = 'closed';
    element.textContent = 'no conversation: the user must write first';
  } else if (now < closesAt) {
    element.className = 'open';
    element.textContent = `open, closes in ${span(closesAt - now)}`;
  } else {
    element.className = 'closed';
    element.textContent = `closed ${span(now - closesAt)} ago`;
  }
}

function tick(): void {
  if (state === undefined) return;
  const now = Date.now() + offset;
  const ahead = state.advancedMs > 0 ? ` (${span(state.advancedMs)} ahead of real time)` : '';
  byId('clock').textContent = `Sandbox clock: ${utc(now)}${ahead}`;
  windowText(byId('standard'), state.standardClosesAt, now);
  windowText(byId('human-agent'), state.humanAgentClosesAt, now);
}

function fillList(id: string, values: string[]): void {
  const list = byId<HTMLDataListElement>(id);
  list.replaceChildren(
    ...values.map((value) => {
      const option = document.createElement('option');
      option.value = value;
      return option;
    }),
  );
}

async function refresh(): Promise<void> {
  if (!valid()) return;
  const query = new URLSearchParams({ page: pageInput.value, psid: psidInput.value });
  // A sandbox that went away is reported by the feed's error, not here.
  const response = await fetch(`/api/state?${query}`).catch(() => undefined);
  if (!response?.ok) return;
  state = (await response.json()) as State;
  offset = state.now - Date.now();
  fillList('pages', state.pages);
  fillList('users', state.users);
  const linked = byId('linked');
  linked.textContent = state.linked ? 'linked' : 'unlinked (sends are rejected with 1370)';
  linked.className = state.linked ? 'open' : 'closed';
  byId('link-toggle').textContent = state.linked ? 'Unlink Page' : 'Relink Page';
  byId('webhook-url').textContent = state.webhookUrl ?? 'not set (--webhook-url)';
  byId('status-url').textContent = state.statusUrl ?? 'not set (--status-url)';
  tick();
}

function element(tag: string, className: string, content?: string): HTMLElement {
  const node = document.createElement(tag);
  node.className = className;
  if (content !== undefined) node.textContent = content;
  return node;
}

function statusLine(entry: Extract<Entry, { type: 'outbound' }>): HTMLElement {
  const meta = element('p', 'meta');
  const history = statuses.get(entry.uuid) ?? [];
  const last = history.at(-1);
  const chip = element('span', 'status');
  if (last !== undefined) {
    chip.dataset.status = last.status;
    chip.className = `status status-${last.status}`;
    const steps = history.map((step) => step.status).join(' → ');
    chip.textContent = last.code !== undefined ? `${steps} ${last.code} ${last.detail ?? ''}`.trim() : steps;
  } else if (!entry.verdict.delivered) {
    chip.dataset.status = 'rejected';
    chip.className = 'status status-rejected';
    chip.textContent = `rejected ${entry.verdict.code} ${entry.verdict.detail}`;
  } else {
    chip.dataset.status = 'accepted';
    chip.textContent = 'accepted (202)';
  }
  meta.append(`${utc(Date.parse(entry.at)).slice(11)}${entry.tag ? ` · ${entry.tag}` : ''} · `, chip);
  if (last?.botStatus !== undefined) meta.append(` · status webhook → bot ${last.botStatus}`);
  if (last?.error !== undefined) meta.append(` · status webhook failed: ${last.error}`);
  return meta;
}

function render(): void {
  const page = pageInput.value;
  const psid = psidInput.value;
  const items: HTMLElement[] = [];
  for (const entry of entries) {
    if (entry.type === 'refused') {
      if ((entry.page ?? page) !== page || (entry.psid ?? psid) !== psid) continue;
      const item = element('li', 'system');
      item.append(element('span', 'problem', `API answered ${entry.httpStatus} ${entry.title}`), `: ${entry.detail}`);
      items.push(item);
      continue;
    }
    if (entry.page !== page || entry.psid !== psid) continue;
    if (entry.type === 'inbound') {
      const item = element('li', 'user');
      item.dataset.uuid = entry.uuid;
      item.append(element('span', 'bubble', entry.text));
      const answer = answers.get(entry.uuid);
      const bot =
        answer === undefined
          ? 'webhook → bot …'
          : answer.error !== undefined
            ? `webhook failed: ${answer.error}`
            : `webhook → bot ${answer.botStatus}${answer.botStatus === 200 ? '' : ' (not accepted)'}`;
      const failed = answer !== undefined && (answer.error !== undefined || answer.botStatus !== 200);
      item.append(element('p', failed ? 'meta problem' : 'meta', `${utc(Date.parse(entry.at)).slice(11)} · ${bot}`));
      items.push(item);
    } else {
      const item = element('li', 'bot');
      item.dataset.uuid = entry.uuid;
      item.append(element('span', 'bubble', entry.text), statusLine(entry));
      items.push(item);
    }
  }
  if (items.length === 0) items.push(element('li', 'system', 'No messages yet. Write as the user below.'));
  log.replaceChildren(...items);
  log.scrollTop = log.scrollHeight;
}

const UNREACHABLE = 'The sandbox is unreachable: is it still running? Nothing was sent.';

function offline(): void {
  document.body.dataset.live = 'false';
  notice.textContent = UNREACHABLE;
}

/** Resolves to whether the sandbox was reached (its refusals are shown in the notice). */
async function post(path: string, body: Record<string, unknown>): Promise<boolean> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    offline();
    return false;
  }
  const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) notice.textContent = String(answer.error ?? `HTTP ${response.status}`);
  return true;
}

byId<HTMLFormElement>('compose').addEventListener('submit', (event) => {
  event.preventDefault();
  if (!valid()) {
    notice.textContent = 'Page ID and PSID are digits.';
    return;
  }
  const value = text.value.trim();
  if (value === '') return;
  notice.textContent = '';
  text.value = '';
  void post('/api/say', { page: pageInput.value, psid: psidInput.value, text: value }).then((reached) => {
    // Not sent: the text comes back to be sent again, unless something else was typed since.
    if (!reached && text.value === '') text.value = value;
  });
});

document.querySelectorAll<HTMLButtonElement>('[data-advance]').forEach((button) => {
  button.addEventListener('click', () => {
    notice.textContent = '';
    void post('/api/advance', { by: button.dataset.advance });
  });
});

byId('link-toggle').addEventListener('click', () => {
  if (!valid()) return;
  notice.textContent = '';
  void post(state?.linked === false ? '/api/link' : '/api/unlink', { page: pageInput.value });
});

for (const input of [pageInput, psidInput]) {
  input.addEventListener('change', () => {
    render();
    void refresh();
  });
}

const feed = new EventSource('/events');
const onEntry = (message: MessageEvent<string>): void => {
  entries.push(JSON.parse(message.data) as Entry);
  render();
};
feed.addEventListener('inbound', onEntry);
feed.addEventListener('outbound', onEntry);
feed.addEventListener('refused', onEntry);
feed.addEventListener('status', (message: MessageEvent<string>) => {
  const event = JSON.parse(message.data) as StatusEvent;
  statuses.set(event.uuid, [...(statuses.get(event.uuid) ?? []), event]);
  render();
});
feed.addEventListener('answered', (message: MessageEvent<string>) => {
  const event = JSON.parse(message.data) as AnsweredEvent;
  answers.set(event.uuid, event);
  render();
});
feed.addEventListener('state', () => void refresh());
feed.addEventListener('open', () => {
  document.body.dataset.live = 'true';
  if (notice.textContent === UNREACHABLE) notice.textContent = '';
  void refresh();
});
// Fired when the sandbox goes away, and at each attempt to reconnect that fails.
feed.addEventListener('error', offline);

setInterval(tick, 1000);
render();
void refresh();
