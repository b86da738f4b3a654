/**
 * The chat page: plain HTML and CSS, no framework and nothing from a CDN (it works offline).
 * Its script is src/cli/page/client.ts, built by tsup to dist/playground.js.
 *
 * @module
 */
/** The page, with the conversation it opens on (digits only: they are written into the HTML). */
export const pageHtml = ({ page, psid }: { page: string; psid: string }): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Messenger sandbox · vonage-messenger</title>
<link rel="icon" href="data:,">
<style>
:root { color-scheme: light; --blue: #0a7cff; --line: #d8dde3; --muted: #5b6570; --bad: #b3261e; --ok: #146c2e; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1c1e21; background: #f5f6f7; }
header { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap; padding: .6rem 1rem; background: #fff; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.1rem; margin: 0; }
#clock { margin: 0; color: var(--muted); font-variant-numeric: tabular-nums; }
main { display: grid; grid-template-columns: 17rem 1fr; gap: 1rem; padding: 1rem; max-width: 64rem; margin: 0 auto; }
aside { display: flex; flex-direction: column; gap: .8rem; }
fieldset { min-width: 0; border: 1px solid var(--line); border-radius: 8px; background: #fff; margin: 0; padding: .6rem .8rem .8rem; }
legend { font-weight: 600; padding: 0 .3rem; }
label { display: block; font-size: .85rem; color: var(--muted); margin-top: .3rem; }
input { font: inherit; width: 100%; padding: .35rem .5rem; border: 1px solid #b8c0c8; border-radius: 6px; }
button { font: inherit; padding: .35rem .7rem; border: 1px solid #b8c0c8; border-radius: 6px; background: #fff; cursor: pointer; }
button:hover { background: #eef3ff; }
:focus-visible { outline: 3px solid #7ab3ff; outline-offset: 1px; }
.row { display: flex; gap: .4rem; flex-wrap: wrap; margin-top: .5rem; }
.win { margin: .25rem 0; font-variant-numeric: tabular-nums; }
.open { color: var(--ok); font-weight: 600; }
.closed { color: var(--bad); font-weight: 600; }
.chat { display: flex; flex-direction: column; background: #fff; border: 1px solid var(--line); border-radius: 8px; min-height: 28rem; }
#log { list-style: none; margin: 0; padding: 1rem; flex: 1; overflow-y: auto; display: flex; flex-direction: column; gap: .5rem; max-height: 60vh; }
#log li { max-width: 80%; }
#log .user { align-self: flex-end; text-align: right; }
#log .bubble { display: inline-block; padding: .45rem .75rem; border-radius: 18px; white-space: pre-wrap; word-break: break-word; }
#log .user .bubble { background: var(--blue); color: #fff; }
#log .bot .bubble { background: #e4e6eb; }
#log .system { align-self: center; max-width: 95%; color: var(--muted); font-size: .85rem; text-align: center; }
.meta { font-size: .78rem; color: var(--muted); margin-top: .15rem; overflow-wrap: anywhere; }
.status-rejected, .status-failed, .problem { color: var(--bad); font-weight: 600; }
.status-delivered, .status-read { color: var(--ok); }
form { display: flex; gap: .5rem; padding: .7rem; border-top: 1px solid var(--line); }
form label { position: absolute; left: -9999px; }
#notice { min-height: 1.2rem; margin: .3rem .7rem .6rem; font-size: .85rem; color: var(--bad); }
@media (max-width: 44rem) { main { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header>
  <h1>Messenger sandbox</h1>
  <p id="clock">Sandbox clock: …</p>
</header>
<main>
  <aside>
    <fieldset>
      <legend>Conversation</legend>
      <label for="page">Page ID</label>
      <input id="page" value="${page}" list="pages" inputmode="numeric" pattern="[0-9]{1,32}" autocomplete="off" required>
      <label for="psid">User (PSID)</label>
      <input id="psid" value="${psid}" list="users" inputmode="numeric" pattern="[0-9]{1,32}" autocomplete="off" required>
      <datalist id="pages"></datalist><datalist id="users"></datalist>
      <p class="win">Page link: <span id="linked">…</span></p>
      <div class="row"><button id="link-toggle" type="button">Unlink Page</button></div>
    </fieldset>
    <fieldset>
      <legend>Window</legend>
      <p class="win">Standard (24 h): <span id="standard">…</span></p>
      <p class="win">HUMAN_AGENT (7 days): <span id="human-agent">…</span></p>
      <div class="row" role="group" aria-label="Advance the sandbox clock">
        <button type="button" data-advance="1h">+1 h</button>
        <button type="button" data-advance="25h">+25 h</button>
        <button type="button" data-advance="8d">+8 days</button>
      </div>
    </fieldset>
    <fieldset>
      <legend>Webhooks</legend>
      <p class="meta">Inbound: <span id="webhook-url">…</span></p>
      <p class="meta">Status: <span id="status-url">…</span></p>
    </fieldset>
  </aside>
  <section class="chat" aria-label="Chat">
    <ol id="log" aria-live="polite" aria-label="Messages"></ol>
    <form id="compose">
      <label for="text">Message as the user</label>
      <input id="text" autocomplete="off" maxlength="2000" placeholder="Write as the user, press Enter" required>
      <button type="submit">Send</button>
    </form>
    <p id="notice" role="status"></p>
  </section>
</main>
<script src="/playground.js" defer></script>
</body>
</html>
`;
