// Red packets on the watch page: a 🧧 button in the toolbar opens a form
// (coins, shares) that drops a packet in the room (POST
// /api/rooms/{room}/redpackets with an idempotency key; a request that got no
// answer is sent again with the same key, so a packet is never paid twice).
// Open packets show as cards under the player: from GET
// /api/rooms/{room}/redpackets when the page opens, then from the room's
// envelopes, which arrive only once the coins moved:
//   redpacket       {id, coins, shares, expires_at}   a new card
//   redpacket_grab  {id, user, coins, left}           "left" and who won what
//   redpacket_end   {id, refunded, sender}            the card closes
// Tapping a card grabs a share (POST /api/redpackets/{id}/grab) and opens the
// envelope over the player: the coins won, or why not (empty, expired,
// grabbed already). Everything from users is set with textContent.
//
// state.redpackets (read by tests):
//   cards      packets shown now
//   created    packets this page dropped
//   lastResult "won" | "empty" | "expired" | "already" | "error" | null
//   lastCoins  coins of the last share won (0 before one)
//   lastError  the last refusal shown, or null

import { api, loginURL } from './api.js';
import { errorMessage, fmtCount, h, randomKey, setText } from './common.js';

const OPEN_MS = 2600; // how long the opened envelope stays
const ENDED_MS = 6000; // how long a closed card stays
const MAX_CARDS = 12;
const MAX_WINNERS = 3; // names shown on a card


function fmtLeft(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}` : `${s}s`;
}

/**
 * mountRedPackets({button, tray, fx, room, state, loggedIn}): button (in the
 * toolbar) toggles the drop form; tray (an empty section) holds the form and
 * the cards; fx (an empty layer over the player) shows an envelope opening.
 * loggedIn() is true, false, or null while unknown. Returns {receive(env)}
 * for the room's redpacket* envelopes.
 */
export function mountRedPackets({ button, tray, fx, room, state, loggedIn }) {
  const rp = { cards: 0, created: 0, lastResult: null, lastCoins: 0, lastError: null };
  state.redpackets = rp;
  const cards = new Map(); // packet id → card

  button.replaceChildren(h('span', { 'aria-hidden': 'true' }, '🧧'), h('span', { class: 'redpacket-btn-text' }, 'Red packet'));
  button.title = 'Drop a red packet in this room';
  button.setAttribute('aria-expanded', 'false');

  // ---- the form
  const coins = h('input', { id: 'redpacket-coins', type: 'number', min: '1', step: '1', inputmode: 'numeric', required: true, value: '100', 'aria-label': 'Coins' });
  const shares = h('input', { id: 'redpacket-shares', type: 'number', min: '1', step: '1', inputmode: 'numeric', required: true, value: '10', 'aria-label': 'Shares' });
  const drop = h('button', { type: 'submit', class: 'btn primary', id: 'redpacket-drop' }, 'Drop it');
  const cancel = h('button', { type: 'button', class: 'btn', id: 'redpacket-cancel' }, 'Cancel');
  const note = h('p', { class: 'redpacket-note', id: 'redpacket-note', role: 'status', hidden: true });
  const form = h('form', { class: 'redpacket-form', id: 'redpacket-form', hidden: true, novalidate: true },
    h('label', {}, h('span', {}, 'Coins'), coins),
    h('label', {}, h('span', {}, 'Shares'), shares),
    h('div', { class: 'redpacket-actions' }, drop, cancel),
    h('p', { class: 'hint' }, 'The first viewers to tap win a random share each; what nobody takes comes back to you.'),
    note);
  const list = h('ul', { class: 'redpacket-cards', id: 'redpacket-cards', 'aria-live': 'polite' });
  tray.replaceChildren(form, list);
  tray.classList.add('redpacket-tray');

  let noteTimer = 0;
  function say(msg, kind = 'error', link = null) {
    note.replaceChildren(msg);
    if (link) note.append(' ', h('a', { href: link.href }, link.text));
    note.dataset.kind = kind;
    note.hidden = false;
    clearTimeout(noteTimer);
    if (kind !== 'error') noteTimer = setTimeout(() => (note.hidden = true), 4000);
  }
  function showForm(show) {
    form.hidden = !show;
    button.setAttribute('aria-expanded', String(show));
    if (show) coins.focus();
  }
  button.addEventListener('click', () => {
    if (loggedIn() === false) {
      location.assign(loginURL());
      return;
    }
    showForm(form.hidden);
  });
  cancel.addEventListener('click', () => showForm(false));

  // One key per packet the viewer means to drop: kept while the same amounts
  // are retried after no answer, new once they change or the drop succeeds.
  let pending = null; // {coins, shares, key}
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const c = Number(coins.value);
    const n = Number(shares.value);
    if (!Number.isInteger(c) || !Number.isInteger(n) || c < 1 || n < 1) {
      say('Give whole numbers of coins and shares.');
      return;
    }
    if (n > c) {
      say(`${c} coins cannot fill ${n} shares: each share is at least 1 coin.`);
      return;
    }
    if (!pending || pending.coins !== c || pending.shares !== n) pending = { coins: c, shares: n, key: randomKey(32) };
    const body = { coins: c, shares: n, idempotency_key: pending.key };
    drop.disabled = true;
    try {
      let out;
      for (let attempt = 0; ; attempt++) {
        try {
          out = await api(`/api/rooms/${encodeURIComponent(room)}/redpackets`, { method: 'POST', body });
          break;
        } catch (err) {
          if (!err?.status && attempt < 2) continue; // no answer: the same key is safe
          throw err;
        }
      }
      pending = null;
      rp.created++;
      rp.lastError = null;
      if (out?.red_packet) add(out.red_packet);
      showForm(false);
      say(`Dropped ${fmtCount(c)} coins in ${n} share${n === 1 ? '' : 's'}. You have ${fmtCount(Number(out?.balance) || 0)} coins left.`, 'ok');
    } catch (err) {
      rp.lastError = err?.status === 402 ? 'insufficient_funds' : String(err?.status || 'network');
      if (err?.status === 401) location.assign(loginURL());
      else if (err?.status === 402) say(errorMessage(err), 'error', { href: '/wallet', text: 'Recharge' });
      else say(errorMessage(err));
      if (err?.status) pending = null; // refused: the next try is a new request
    } finally {
      drop.disabled = false;
    }
  });

  // ---- cards
  function add(p) {
    const id = String(p.id || '');
    if (!id) return null;
    let card = cards.get(id);
    if (card) return card;
    const expires = new Date(p.expires_at).getTime();
    if (!(expires > Date.now())) return null;
    if (cards.size >= MAX_CARDS) remove(cards.keys().next().value);
    card = {
      id, expires, shares: Number(p.shares) || 0, left: Number(p.left ?? p.shares) || 0, mine: null, ended: false, busy: false,
      el: h('li', { class: 'redpacket-card', 'data-id': id }),
      status: h('span', { class: 'redpacket-status' }),
      winners: h('span', { class: 'redpacket-winners' }),
      time: h('span', { class: 'redpacket-time' }),
    };
    const open = h('button', { type: 'button', class: 'redpacket-open-btn', 'aria-label': `Grab a share of ${String(p.from?.name || 'someone')}'s red packet` },
      h('span', { class: 'redpacket-icon', 'aria-hidden': 'true' }, '🧧'),
      h('span', { class: 'redpacket-card-text' },
        h('span', { class: 'redpacket-from' }, String(p.from?.name || 'someone')),
        h('span', { class: 'redpacket-what' }, `${fmtCount(Number(p.coins) || 0)} coins`),
        card.status, card.winners),
      card.time);
    open.addEventListener('click', () => grab(card));
    card.el.append(open);
    card.button = open;
    if (p.mine) card.mine = Number(p.mine.coins) || 0;
    cards.set(id, card);
    list.append(card.el);
    rp.cards = cards.size;
    paint(card);
    tick();
    return card;
  }

  function remove(id) {
    const card = cards.get(id);
    if (!card) return;
    card.el.remove();
    cards.delete(id);
    rp.cards = cards.size;
  }

  function paint(card) {
    let text = `${card.left}/${card.shares} left`;
    if (card.mine != null) text = `You got ${fmtCount(card.mine)} coins`;
    else if (card.ended) text = card.left > 0 ? 'Expired' : 'All grabbed';
    else if (card.left <= 0) text = 'All grabbed';
    setText(card.status, text);
    card.el.classList.toggle('is-mine', card.mine != null);
    card.el.classList.toggle('is-over', card.ended || card.left <= 0);
    card.button.disabled = card.busy;
  }

  function end(card, later = ENDED_MS) {
    if (card.ended) return;
    card.ended = true;
    paint(card);
    setText(card.time, '');
    setTimeout(() => remove(card.id), later);
  }

  let ticker = 0;
  function tick() {
    clearTimeout(ticker);
    const now = Date.now();
    for (const card of cards.values()) {
      if (card.ended) continue;
      if (card.expires <= now) end(card);
      else setText(card.time, fmtLeft(card.expires - now));
    }
    if ([...cards.values()].some((c) => !c.ended)) ticker = setTimeout(tick, 1000);
  }

  // ---- grabbing, and the envelope that opens
  async function grab(card) {
    if (card.busy) return;
    if (loggedIn() === false) {
      location.assign(loginURL());
      return;
    }
    if (card.mine != null) {
      reveal('won', card.mine, 'You already have your share');
      return;
    }
    card.busy = true;
    paint(card);
    const env = opening();
    let result;
    let coins = 0;
    let detail = '';
    try {
      const out = await api(`/api/redpackets/${encodeURIComponent(card.id)}/grab`, { method: 'POST' });
      result = 'won';
      coins = Number(out?.coins) || 0;
      card.mine = coins;
      card.left = Math.min(card.left, Number(out?.left) || 0);
      rp.lastCoins = coins;
      rp.lastError = null;
    } catch (err) {
      if (err?.status === 401) {
        location.assign(loginURL());
        return;
      }
      result = err?.status === 410 ? 'expired' : err?.title === 'Already grabbed' ? 'already' : err?.status === 409 ? 'empty' : 'error';
      detail = errorMessage(err);
      rp.lastError = result;
      if (result === 'empty') card.left = 0;
      if (result === 'expired') end(card);
    } finally {
      card.busy = false;
      paint(card);
    }
    rp.lastResult = result;
    env.show(result, coins, detail);
  }

  // opening() puts a sealed envelope over the player at once; show() opens it.
  function opening() {
    const amount = h('b', { class: 'redpacket-amount' });
    const line = h('span', { class: 'redpacket-line' });
    const el = h('div', { class: 'redpacket-envelope', role: 'status', 'aria-live': 'assertive' },
      h('span', { class: 'redpacket-flap', 'aria-hidden': 'true' }),
      h('span', { class: 'redpacket-seal', 'aria-hidden': 'true' }),
      h('span', { class: 'redpacket-inside' }, amount, line));
    fx.replaceChildren(el);
    fx.hidden = false;
    let timer = 0;
    const close = () => {
      clearTimeout(timer);
      el.remove();
      if (!fx.childElementCount) fx.hidden = true;
    };
    el.addEventListener('click', close);
    return {
      show(result, coins, detail) {
        const texts = {
          won: [`+${fmtCount(coins)}`, 'coins are yours'],
          empty: ['Empty', detail || 'This red packet is empty'],
          expired: ['Expired', detail || 'This red packet expired'],
          already: ['Again?', detail || 'You already grabbed this one'],
          error: ['Oops', detail || 'Something went wrong; try again'],
        }[result];
        setText(amount, texts[0]);
        setText(line, texts[1]);
        el.dataset.result = result;
        // Let the shake play a moment before the flap opens.
        setTimeout(() => el.classList.add('opened'), 450);
        timer = setTimeout(close, OPEN_MS + 450);
      },
    };
  }

  function reveal(result, coins, detail) {
    rp.lastResult = result;
    opening().show(result, coins, detail);
  }

  // ---- the room's envelopes
  function receive(env) {
    const b = env.body && typeof env.body === 'object' ? env.body : {};
    const id = String(b.id || '');
    if (env.type === 'redpacket') {
      add({ id, from: env.from, coins: b.coins, shares: b.shares, left: b.shares, expires_at: Number(b.expires_at) });
      return;
    }
    const card = cards.get(id);
    if (!card) return;
    if (env.type === 'redpacket_grab') {
      const left = Number(b.left);
      if (Number.isFinite(left)) card.left = Math.min(card.left, left);
      const who = h('span', { class: 'redpacket-winner' }, String(b.user?.name || 'someone'), ` +${fmtCount(Number(b.coins) || 0)}`);
      card.winners.prepend(who);
      while (card.winners.childElementCount > MAX_WINNERS) card.winners.lastElementChild.remove();
      if (state.user && b.user?.name === state.user) card.mine = Number(b.coins) || 0;
      paint(card);
      if (card.left <= 0) end(card);
    } else if (env.type === 'redpacket_end') {
      end(card);
    }
  }

  // The packets open when the page opens (with what this viewer won).
  api(`/api/rooms/${encodeURIComponent(room)}/redpackets`)
    .then((out) => {
      for (const p of out?.red_packets || []) add(p);
    })
    .catch(() => {}); // the envelopes bring new ones anyway

  return { receive };
}
