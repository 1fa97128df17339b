// Gifts on the watch page: the gift bar (the catalog from GET /api/gifts, the
// viewer's coins from GET /api/wallet, a count picker), sending
// (POST /api/rooms/{room}/gifts with a fresh idempotency key; a network
// failure retries with the same key, so a gift is never paid twice), the
// effects of the `gift` envelopes the room receives (a banner for small
// gifts that counts up a combo — "x10" — while the same sender keeps sending
// the same gift; a full-screen animation for big ones), and the room's
// contributor leaderboard (this broadcast, today, this week), refreshed after
// gifts and every 20 s.
//
// The room sees a gift only after the ledger moved the coins, so the effects
// are driven by the envelopes, never by the click. Everything from users is
// set with textContent.
//
// state.gifts (read by tests):
//   catalog   gifts offered
//   coins     the viewer's balance (null when logged out or unknown)
//   sent      gifts this page sent that the server accepted
//   lastError the last refusal shown, or null
//   banners   banners on screen; fullscreen: full-screen effects shown so far
//   lastCombo the combo count of the newest gift event
//   board     [{rank, name, score}] of the leaderboard shown; period

import { api, fetchMe, loginURL } from './api.js';
import { errorMessage, fmtCount, h, randomKey, setText } from './common.js';

const COUNTS = [1, 10, 66, 99, 520];
const BANNER_MS = 4000;
const FULLSCREEN_MS = 3200;
const MAX_BANNERS = 3;
const BOARD_REFRESH_MS = 20_000;
const PERIODS = [['broadcast', 'This live'], ['day', 'Today'], ['week', 'This week']];


/**
 * mountGifts({bar, fx, board, room, state}): bar, fx (an empty layer over the
 * player) and board (an empty section) are filled. Returns {receive(env)} for
 * the room's gift envelopes.
 */
export function mountGifts({ bar, fx, board, room, state }) {
  const gifts = { catalog: [], coins: null, sent: 0, lastError: null, banners: 0, fullscreen: 0, lastCombo: 0, board: [], period: 'broadcast' };
  state.gifts = gifts;
  let loggedIn = null;

  // ---- the bar
  const items = h('div', { class: 'gift-items', role: 'list' });
  const count = h('select', { class: 'gift-count', id: 'gift-count', 'aria-label': 'How many' },
    ...COUNTS.map((n) => h('option', { value: String(n) }, `×${n}`)));
  const coins = h('a', { class: 'gift-coins', id: 'gift-coins', href: '/wallet', title: 'Your coins — recharge' }, '–');
  const note = h('p', { class: 'gift-note', id: 'gift-note', role: 'status', hidden: true });
  bar.replaceChildren(h('div', { class: 'gift-row' }, items, h('div', { class: 'gift-side' }, count, coins)), note);
  bar.classList.add('gift-bar');

  let noteTimer = 0;
  function say(msg, kind = 'error', link = null) {
    note.replaceChildren(msg);
    if (link) note.append(' ', h('a', { href: link.href }, link.text));
    note.dataset.kind = kind;
    note.hidden = false;
    clearTimeout(noteTimer);
    noteTimer = setTimeout(() => (note.hidden = true), 5000);
  }
  function showCoins() {
    setText(coins, gifts.coins == null ? (loggedIn === false ? 'Log in' : '–') : `🪙 ${fmtCount(gifts.coins)}`);
    coins.href = loggedIn === false ? loginURL() : '/wallet';
  }

  async function send(item, btn) {
    if (loggedIn === false) {
      location.assign(loginURL());
      return;
    }
    const n = Number(count.value) || 1;
    const body = { gift: item.id, count: n, idempotency_key: randomKey(32) };
    btn.disabled = true;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const out = await api(`/api/rooms/${encodeURIComponent(room)}/gifts`, { method: 'POST', body });
          gifts.sent++;
          gifts.lastError = null;
          if (typeof out?.balance === 'number') gifts.coins = out.balance;
          showCoins();
          btn.classList.remove('sent');
          void btn.offsetWidth; // restart the animation
          btn.classList.add('sent');
          return;
        } catch (err) {
          // No answer: the same key again is safe (the server moves coins once).
          if (!err?.status && attempt < 2) continue;
          throw err;
        }
      }
    } catch (err) {
      gifts.lastError = err?.status === 402 ? 'insufficient_funds' : String(err?.status || 'network');
      if (err?.status === 402) say(errorMessage(err), 'error', { href: '/wallet', text: 'Recharge' });
      else if (err?.status === 401) location.assign(loginURL());
      else say(errorMessage(err));
    } finally {
      btn.disabled = false;
    }
  }

  function renderCatalog() {
    items.replaceChildren(...gifts.catalog.map((g) => {
      const btn = h('button', { type: 'button', class: `gift-item effect-${g.effect === 'fullscreen' ? 'fullscreen' : 'banner'}`, 'data-gift': g.id, role: 'listitem', title: `${g.name} — ${g.price} coins` },
        h('span', { class: 'gift-icon', 'aria-hidden': 'true' }, g.icon || '🎁'),
        h('span', { class: 'gift-name' }, g.name),
        h('span', { class: 'gift-price' }, `🪙${fmtCount(g.price)}`));
      btn.addEventListener('click', () => send(g, btn));
      btn.addEventListener('animationend', () => btn.classList.remove('sent'));
      return btn;
    }));
  }

  // ---- effects
  const banners = new Map(); // sender + gift → {el, countEl, timer}
  function banner(env, g) {
    const key = `${env.from?.id}|${g.gift}`;
    let b = banners.get(key);
    if (!b) {
      if (banners.size >= MAX_BANNERS) {
        const [oldKey, old] = banners.entries().next().value;
        old.el.remove();
        clearTimeout(old.timer);
        banners.delete(oldKey);
      }
      const countEl = h('b', { class: 'gift-combo' });
      const el = h('div', { class: 'gift-banner' },
        h('span', { class: 'gift-banner-icon', 'aria-hidden': 'true' }, g.icon || '🎁'),
        h('span', { class: 'gift-banner-text' },
          h('span', { class: 'gift-banner-from' }, String(env.from?.name || 'someone')),
          h('span', { class: 'gift-banner-what' }, ` sent ${String(g.name || g.gift)}`)),
        countEl);
      fx.append(el);
      b = { el, countEl, timer: 0 };
      banners.set(key, b);
    }
    setText(b.countEl, `×${g.combo || g.count || 1}`);
    b.countEl.classList.remove('bump');
    void b.countEl.offsetWidth;
    b.countEl.classList.add('bump');
    clearTimeout(b.timer);
    b.timer = setTimeout(() => {
      b.el.classList.add('leaving');
      setTimeout(() => b.el.remove(), 400);
      banners.delete(key);
      gifts.banners = banners.size;
    }, BANNER_MS);
    gifts.banners = banners.size;
  }
  function fullscreen(env, g) {
    const el = h('div', { class: 'gift-full' },
      h('span', { class: 'gift-full-icon', 'aria-hidden': 'true' }, g.icon || '🎁'),
      h('span', { class: 'gift-full-text' }, `${String(env.from?.name || 'someone')} sent ${String(g.name || g.gift)}${(g.combo || 1) > 1 ? ` ×${g.combo}` : ''}`));
    fx.append(el);
    gifts.fullscreen++;
    setTimeout(() => el.remove(), FULLSCREEN_MS);
  }

  // ---- the leaderboard
  const tabs = h('div', { class: 'board-tabs', role: 'tablist' });
  const list = h('ol', { class: 'board-list', id: 'board-list' });
  const empty = h('p', { class: 'hint board-empty' }, '');
  board.replaceChildren(h('div', { class: 'card-head' }, h('h2', {}, 'Top fans'), tabs), list, empty);
  board.classList.add('leaderboard', 'card');
  for (const [period, label] of PERIODS) {
    const tab = h('button', { type: 'button', role: 'tab', class: 'board-tab', 'data-period': period, 'aria-selected': String(period === gifts.period) }, label);
    tab.addEventListener('click', () => {
      gifts.period = period;
      for (const t of tabs.children) t.setAttribute('aria-selected', String(t.dataset.period === period));
      loadBoard();
    });
    tabs.append(tab);
  }
  let boardTimer = 0;
  let boardSoon = 0;
  async function loadBoard() {
    clearTimeout(boardTimer);
    try {
      const out = await api(`/api/rooms/${encodeURIComponent(room)}/leaderboard?period=${gifts.period}`);
      gifts.board = (Array.isArray(out?.entries) ? out.entries : []).map((e) => ({
        rank: Number(e.rank) || 0, name: String(e.user?.display_name || e.user?.name || ''), score: Number(e.score) || 0,
      }));
      list.replaceChildren(...gifts.board.map((e) => h('li', { class: `board-row rank-${Math.min(e.rank, 4)}` },
        h('span', { class: 'board-rank' }, String(e.rank)),
        h('span', { class: 'board-name' }, e.name),
        h('span', { class: 'board-score' }, `🪙${fmtCount(e.score)}`))));
      setText(empty, gifts.board.length ? '' : out?.live === false ? 'The leaderboard of this live starts when the stream does.' : 'No gifts yet. Be the first!');
    } catch {
      /* keep what is shown; the next refresh tries again */
    }
    boardTimer = setTimeout(loadBoard, BOARD_REFRESH_MS);
  }

  // ---- start
  api('/api/gifts').then((out) => {
    gifts.catalog = Array.isArray(out?.gifts) ? out.gifts : [];
    renderCatalog();
  }, (err) => say(`Gifts are not available: ${errorMessage(err)}`));
  fetchMe().then(({ user }) => {
    loggedIn = !!user;
    if (user) {
      api('/api/wallet').then((w) => {
        gifts.coins = Number(w?.coins) || 0;
        showCoins();
      }, () => showCoins());
    } else showCoins();
  });
  showCoins();
  loadBoard();

  return {
    /** Reads the balance again (coins moved elsewhere: a red packet). */
    refreshCoins() {
      if (!loggedIn) return;
      api('/api/wallet').then((w) => {
        gifts.coins = Number(w?.coins) || 0;
        showCoins();
      }, () => {});
    },
    /** A `gift` envelope of the room: show its effect, refresh the board soon. */
    receive(env) {
      const g = env && env.body && typeof env.body === 'object' ? env.body : null;
      if (!g) return;
      gifts.lastCombo = Number(g.combo) || 0;
      if (g.effect === 'fullscreen') fullscreen(env, g);
      else banner(env, g);
      clearTimeout(boardSoon);
      boardSoon = setTimeout(loadBoard, 500);
    },
  };
}
