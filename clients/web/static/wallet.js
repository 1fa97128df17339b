// The wallet, /wallet: the user's coins (GET /api/wallet), the recharge
// packages as cards (GET /api/wallet/packages), "Pay" → POST
// /api/wallet/orders → the provider's checkout page (with the dev provider,
// /pay/dev: Pay or Fail) → back here with ?order=<id>&status=<paid|failed>,
// which the page announces and then drops from the address. Below: the orders
// (GET /api/wallet/orders) and the coin history from the ledger
// (GET /api/wallet/history?currency=coins), each with "Load more".
// Anonymous visitors go to /login?next=/wallet.
//
// This module also exports what the earnings page shares with it: money
// formatting, history lines and a paged list; its page code runs only on the
// wallet page. Text from the server is set with textContent only.
//
// window.state (read by tests):
//   status     "loading" | "ready" | "error"
//   user       my name, or null
//   coins      my balance, or null until known
//   earnings   my earnings balance, or null
//   packages   package ids as shown
//   providers  payment providers the server takes
//   orders     orders shown; lastOrder: the newest one's status
//   history    coin history lines shown; historyMore: whether more can be loaded
//   notice     the banner's text after coming back from a payment ("" when none)
//   error      the last error shown ("" when none)

import { api, fetchMe, loginURL, renderAccount } from './api.js';
import { errorMessage, fmtCount, h, param, randomKey, setText } from './common.js';
import { listenDMs } from './inbox.js';

/** "30.00 CNY": minor units of a currency, exactly (no floating point). */
export function fmtMoney(cents, currency = '') {
  const n = Math.trunc(Number(cents) || 0);
  const sign = n < 0 ? '-' : '';
  const a = Math.abs(n);
  return `${sign}${Math.trunc(a / 100).toLocaleString('en')}.${String(a % 100).padStart(2, '0')}${currency ? ` ${currency}` : ''}`;
}

/** "+1,200" or "-300": an amount with its sign. */
export function fmtAmount(n) {
  const v = Math.trunc(Number(n) || 0);
  return `${v > 0 ? '+' : v < 0 ? '−' : ''}${Math.abs(v).toLocaleString('en')}`;
}

/** "24 Nov, 21:12": a time as this browser's locale writes it. */
export function fmtWhen(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleString(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

const KINDS = {
  recharge: 'Recharge',
  recharge_refund: 'Recharge refunded',
  gift: 'Gift',
  grant: 'From the platform',
  redpacket_create: 'Red packet sent',
  redpacket_release: 'Red packet',
  withdrawal_request: 'Withdrawal requested',
  withdrawal_approve: 'Withdrawal paid out',
  withdrawal_reject: 'Withdrawal returned',
};

/** What a ledger entry was, in words. */
export function entryLabel(e) {
  const m = e.metadata || {};
  let label = KINDS[e.kind] || String(e.kind || 'Movement');
  if (e.kind === 'gift') {
    label = Number(e.amount) < 0 ? 'Gift sent' : 'Gift received';
    if (m.gift) label += `: ${m.gift}${Number(m.count) > 1 ? ` ×${m.count}` : ''}`;
  } else if (e.kind === 'grant' && m.reason) {
    label += `: ${m.reason}`;
  }
  return label;
}

/** One line of a ledger history (GET /api/wallet/history); unit: "coin" or "earning". */
export function historyLine(e, unit) {
  const amount = Number(e.amount) || 0;
  return h('li', { class: 'ledger-line', 'data-kind': String(e.kind || '') },
    h('span', { class: 'ledger-what' }, entryLabel(e)),
    h('span', { class: `ledger-amount ${amount >= 0 ? 'in' : 'out'}` }, `${fmtAmount(amount)} ${Math.abs(amount) === 1 ? unit : `${unit}s`}`),
    h('span', { class: 'ledger-when hint' }, fmtWhen(e.at)),
    h('span', { class: 'ledger-after hint' }, `balance ${fmtCount(e.balance)}`));
}

/**
 * A list filled a page at a time: url(cursor) is the API path of a page,
 * items(out) its items, render(item) a line. "Load more" (more) asks for the
 * next page; empty is shown when there is nothing. onPage(out, first) runs
 * after each page. Returns {reload()}.
 */
export function pagedList({ list, more, empty, url, items, render, onPage = () => {}, onError }) {
  let next = '';
  let busy = false;
  async function load(first) {
    if (busy) return;
    busy = true;
    more.disabled = true;
    try {
      const out = await api(url(first ? '' : next));
      const got = items(out) || [];
      if (first) list.replaceChildren();
      list.append(...got.map(render));
      next = typeof out?.next === 'string' ? out.next : '';
      more.hidden = !next;
      empty.hidden = list.children.length > 0;
      onPage(out, first);
    } catch (err) {
      onError(err);
    } finally {
      busy = false;
      more.disabled = false;
    }
  }
  more.addEventListener('click', () => load(false));
  return { reload: () => load(true), hasMore: () => !!next };
}

/** A status as a small pill: data-status colours it. */
export function statusPill(status, label) {
  return h('span', { class: 'state-pill', 'data-status': String(status) }, label);
}

// ---------------------------------------------------------------------------
// The wallet page

const ORDER_WORDS = { pending: 'Waiting for payment', paid: 'Paid', failed: 'Failed', refunded: 'Refunded' };

if (document.body.classList.contains('page-wallet')) walletPage();

function walletPage() {
  const $ = (id) => document.getElementById(id);
  const ui = {
    main: $('wallet'), account: $('account'), notice: $('wallet-notice'), error: $('wallet-error'),
    balance: $('balance'), earningsLine: $('earnings-line'), earnings: $('earnings'),
    ratio: $('ratio'), devNote: $('dev-note'), packages: $('packages'), rechargeError: $('recharge-error'), noRecharge: $('no-recharge'),
    orders: $('orders'), ordersEmpty: $('orders-empty'), ordersMore: $('orders-more'),
    history: $('history'), historyEmpty: $('history-empty'), historyMore: $('history-more'),
  };
  const state = { status: 'loading', user: null, coins: null, earnings: null, packages: [], providers: [], orders: 0, lastOrder: '',
    history: 0, historyMore: false, notice: '', error: '' };
  window.state = state;
  let currency = '';

  function showError(err) {
    state.error = errorMessage(err);
    setText(ui.error, state.error);
    ui.error.hidden = false;
  }

  async function loadBalance() {
    const w = await api('/api/wallet');
    state.coins = Number(w?.coins) || 0;
    state.earnings = Number(w?.earnings) || 0;
    setText(ui.balance, state.coins.toLocaleString('en'));
    setText(ui.earnings, state.earnings.toLocaleString('en'));
    ui.earningsLine.hidden = state.earnings === 0 && !['streamer', 'admin', 'superadmin'].includes(state.userRole);
  }

  async function pay(pkg, btn) {
    ui.rechargeError.hidden = true;
    for (const b of ui.packages.querySelectorAll('button')) b.disabled = true;
    setText(btn, 'Opening checkout…');
    const body = { package: pkg.id, provider: state.providers[0], idempotency_key: randomKey() };
    try {
      let out;
      for (let attempt = 0; ; attempt++) {
        try {
          out = await api('/api/wallet/orders', { method: 'POST', body });
          break;
        } catch (err) {
          // No answer: the same key again gives the same order, never two.
          if (!err?.status && attempt < 2) continue;
          throw err;
        }
      }
      location.assign(out.checkout_url);
    } catch (err) {
      if (err?.status === 401) return location.assign(loginURL());
      setText(ui.rechargeError, errorMessage(err));
      ui.rechargeError.hidden = false;
      renderPackages(); // buttons back as they were
    }
  }

  function renderPackages() {
    ui.packages.replaceChildren(...state.catalog.map((p) => {
      const price = fmtMoney(p.price_cents, currency);
      const btn = h('button', { type: 'button', class: 'btn primary package-pay', 'data-package': p.id,
        'aria-label': `Pay ${price} for ${Number(p.coins).toLocaleString('en')} coins` }, 'Pay');
      btn.disabled = state.providers.length === 0;
      btn.addEventListener('click', () => pay(p, btn));
      const base = Number(p.coins) - Number(p.bonus_coins || 0);
      return h('li', { class: 'package-card', 'data-package': p.id },
        h('p', { class: 'package-coins' }, h('span', { class: 'coin', 'aria-hidden': 'true' }, '🪙'), base.toLocaleString('en')),
        h('p', { class: 'package-bonus', hidden: !(Number(p.bonus_coins) > 0) }, `+${fmtCount(p.bonus_coins)} bonus`),
        h('p', { class: 'package-price' }, price),
        btn);
    }));
    state.packages = state.catalog.map((p) => p.id);
  }

  async function loadPackages() {
    const out = await api('/api/wallet/packages');
    currency = String(out?.currency || '');
    state.catalog = Array.isArray(out?.packages) ? out.packages : [];
    state.providers = Array.isArray(out?.providers) ? out.providers.map(String) : [];
    setText(ui.ratio, out?.coins_per_yuan ? `${fmtCount(out.coins_per_yuan)} coins per 1.00 ${currency}` : '');
    ui.devNote.hidden = state.providers[0] !== 'dev';
    ui.noRecharge.hidden = state.providers.length > 0;
    renderPackages();
  }

  function orderLine(o) {
    const li = h('li', { class: 'ledger-line', 'data-id': String(o.id), 'data-status': String(o.status) },
      h('span', { class: 'ledger-what' }, `${Number(o.coins).toLocaleString('en')} coins`),
      h('span', { class: 'ledger-amount' }, fmtMoney(o.price_cents, o.currency)),
      h('span', { class: 'ledger-when hint' }, fmtWhen(o.created_at)),
      statusPill(o.status, ORDER_WORDS[o.status] || String(o.status)));
    if (o.status === 'pending' && o.checkout_url) {
      li.append(h('a', { class: 'ledger-action', href: o.checkout_url }, 'Continue payment'));
    }
    return li;
  }

  const orders = pagedList({
    list: ui.orders, more: ui.ordersMore, empty: ui.ordersEmpty,
    url: (c) => `/api/wallet/orders?limit=10${c ? `&cursor=${encodeURIComponent(c)}` : ''}`,
    items: (out) => out?.orders, render: orderLine, onError: showError,
    onPage: (out, first) => {
      state.orders = ui.orders.children.length;
      if (first) state.lastOrder = out?.orders?.[0]?.status || '';
    },
  });
  const coinHistory = pagedList({
    list: ui.history, more: ui.historyMore, empty: ui.historyEmpty,
    url: (c) => `/api/wallet/history?currency=coins&limit=20${c ? `&cursor=${encodeURIComponent(c)}` : ''}`,
    items: (out) => out?.entries, render: (e) => historyLine(e, 'coin'), onError: showError,
    onPage: () => {
      state.history = ui.history.children.length;
      state.historyMore = coinHistory.hasMore();
    },
  });

  /** Coming back from a checkout: say how it went, once. */
  function announce() {
    const status = param('status');
    const id = param('order');
    if (!status || !id) return;
    const msg = status === 'paid' ? 'Payment received: your coins are in.'
      : status === 'failed' ? 'The payment failed; nothing was charged.' : `Order ${id}: ${status}.`;
    state.notice = msg;
    setText(ui.notice, msg);
    ui.notice.dataset.kind = status === 'paid' ? 'ok' : 'warn';
    ui.notice.hidden = false;
    history.replaceState(null, '', '/wallet');
  }

  async function refresh() {
    await Promise.all([loadBalance(), orders.reload(), coinHistory.reload()]);
  }

  (async () => {
    const { user } = await fetchMe();
    if (!user) {
      location.replace(loginURL({ next: '/wallet' }));
      return;
    }
    state.user = user.name;
    state.userRole = user.role;
    renderAccount(ui.account, user, { onLogout: () => location.assign('/') });
    try {
      await Promise.all([loadPackages(), refresh()]);
      announce();
      state.status = 'ready';
    } catch (err) {
      state.status = 'error';
      showError(err);
    } finally {
      ui.main.removeAttribute('aria-busy');
    }
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) loadBalance().catch(() => {});
    });
    // A payment confirmed elsewhere (another tab, the provider's callback)
    // arrives on the user's socket.
    listenDMs({ onEvent: (env) => {
      if (env.type === 'recharge' || env.type === 'withdrawal') refresh().catch(() => {});
    } });
  })();
}
