// Earnings, /earnings: a streamer's earnings balance, the withdrawal form with
// the terms that apply today (minimum, daily limit and what is left of it,
// the ratio to money) and the requests with their states. GET
// /api/wallet/withdrawals gives the requests (10 a page, "Load more") and the
// terms; POST /api/wallet/withdrawals {earnings, idempotency_key} requests
// one: the earnings go on hold until an admin approves (paid out) or rejects
// (returned). Amounts are checked here first, with the reason in words; the
// server's refusal, if any, is shown as it says it. Anonymous visitors go to
// /login?next=/earnings. Text from the server is set with textContent only.
//
// window.state (read by tests):
//   status     "loading" | "ready" | "error"
//   user       my name, or null
//   balance    my earnings, or null until known
//   terms      {min, daily_limit, cents_per_earning, requested_today, left_today, balance}
//   requests   requests shown; lastStatus: the newest one's status
//   formError  the error under the form ("" when none)
//   done       the confirmation after a request ("" when none)

import { api, fetchMe, loginURL, renderAccount } from './api.js';
import { errorMessage, fmtCount, h, randomKey, setText } from './common.js';
import { fmtMoney, fmtWhen, pagedList, statusPill } from './wallet.js';
import { listenDMs } from './inbox.js';

const WORDS = {
  holding: 'Placing on hold',
  requested: 'Waiting for approval',
  approved: 'Paid out',
  rejected: 'Rejected, returned to your earnings',
};

const $ = (id) => document.getElementById(id);
const ui = {
  main: $('earnings-page'), account: $('account'), error: $('earn-error'),
  balance: $('earn-balance'), worth: $('earn-worth'),
  form: $('withdraw-form'), amount: $('withdraw-amount'), value: $('withdraw-value'), terms: $('withdraw-terms'),
  formError: $('withdraw-error'), done: $('withdraw-done'), submit: $('withdraw-submit'),
  requests: $('requests'), requestsEmpty: $('requests-empty'), requestsMore: $('requests-more'),
};
const state = { status: 'loading', user: null, balance: null, terms: null, requests: 0, lastStatus: '', formError: '', done: '' };
window.state = state;
let currency = '';
let key = randomKey(); // one per request; a retry after no answer reuses it

function showError(err) {
  setText(ui.error, errorMessage(err));
  ui.error.hidden = false;
}

function setFormError(msg) {
  state.formError = msg;
  setText(ui.formError, msg);
  ui.formError.hidden = !msg;
}

function money(earnings) {
  return state.terms ? fmtMoney(earnings * state.terms.cents_per_earning, currency) : '';
}

function showTerms(t) {
  state.terms = t;
  state.balance = Number(t.balance) || 0;
  setText(ui.balance, state.balance.toLocaleString('en'));
  setText(ui.worth, `Worth ${money(state.balance)} at ${fmtMoney(t.cents_per_earning, currency)} per earning`);
  ui.terms.replaceChildren(
    h('li', {}, `Minimum ${fmtCount(t.min)} earnings per request`),
    h('li', {}, `Up to ${Number(t.daily_limit).toLocaleString('en')} earnings a day (UTC): ${Number(t.left_today).toLocaleString('en')} left today`),
    h('li', {}, `1 earning = ${fmtMoney(t.cents_per_earning, currency)}, fixed when you request`));
  ui.amount.min = String(t.min);
  ui.amount.max = String(Math.max(0, Math.min(state.balance, t.left_today)));
}

/** Why this amount cannot be requested, in words; "" when it can. */
function check(raw) {
  const t = state.terms;
  const n = Number(raw);
  if (raw === '' || !Number.isInteger(n) || n <= 0) return 'Enter a whole number of earnings.';
  if (n < t.min) return `The minimum is ${fmtCount(t.min)} earnings; you entered ${n.toLocaleString('en')}.`;
  if (n > state.balance) return `You have ${state.balance.toLocaleString('en')} earnings; you entered ${n.toLocaleString('en')}.`;
  if (n > t.left_today) {
    return `You can request ${Number(t.left_today).toLocaleString('en')} more today (the limit is ${Number(t.daily_limit).toLocaleString('en')} a day, UTC).`;
  }
  return '';
}

function requestLine(w) {
  const li = h('li', { class: 'ledger-line', 'data-id': String(w.id), 'data-status': String(w.status) },
    h('span', { class: 'ledger-what' }, `${Number(w.earnings).toLocaleString('en')} earnings`),
    h('span', { class: 'ledger-amount' }, fmtMoney(w.cents, currency)),
    h('span', { class: 'ledger-when hint' }, fmtWhen(w.created_at)),
    statusPill(w.status, WORDS[w.status] || String(w.status)));
  if (w.reason) li.append(h('span', { class: 'ledger-note hint' }, `${w.status === 'rejected' ? 'Why' : 'Note'}: ${w.reason}`));
  return li;
}

const requests = pagedList({
  list: ui.requests, more: ui.requestsMore, empty: ui.requestsEmpty,
  url: (c) => `/api/wallet/withdrawals?limit=10${c ? `&cursor=${encodeURIComponent(c)}` : ''}`,
  items: (out) => out?.withdrawals, render: requestLine, onError: showError,
  onPage: (out, first) => {
    if (out?.terms) showTerms(out.terms);
    state.requests = ui.requests.children.length;
    if (first) state.lastStatus = out?.withdrawals?.[0]?.status || '';
  },
});

ui.amount.addEventListener('input', () => {
  const n = Number(ui.amount.value);
  setText(ui.value, Number.isInteger(n) && n > 0 ? `= ${money(n)}` : '');
  if (state.formError) setFormError('');
  ui.done.hidden = true;
});

ui.form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (!state.terms) return;
  const why = check(ui.amount.value.trim());
  if (why) {
    setFormError(why);
    ui.amount.focus();
    return;
  }
  const earnings = Number(ui.amount.value);
  setFormError('');
  ui.submit.disabled = true;
  try {
    let w;
    for (let attempt = 0; ; attempt++) {
      try {
        w = await api('/api/wallet/withdrawals', { method: 'POST', body: { earnings, idempotency_key: key } });
        break;
      } catch (err) {
        if (!err?.status && attempt < 2) continue; // no answer: the same key is safe
        throw err;
      }
    }
    key = randomKey();
    state.done = `Requested: ${earnings.toLocaleString('en')} earnings (${fmtMoney(w.cents, currency)}). They are on hold until an admin pays them out.`;
    setText(ui.done, state.done);
    ui.done.dataset.kind = 'ok';
    ui.done.hidden = false;
    ui.form.reset();
    setText(ui.value, '');
    await requests.reload();
  } catch (err) {
    if (err?.status === 401) return location.assign(loginURL());
    key = randomKey(); // refused: the next try is a new request
    setFormError(errorMessage(err));
  } finally {
    ui.submit.disabled = false;
  }
});

(async () => {
  const { user } = await fetchMe();
  if (!user) {
    location.replace(loginURL({ next: '/earnings' }));
    return;
  }
  state.user = user.name;
  renderAccount(ui.account, user, { onLogout: () => location.assign('/') });
  try {
    currency = String((await api('/api/wallet/packages'))?.currency || '');
    await requests.reload();
    state.status = state.terms ? 'ready' : 'error';
    // An admin's decision arrives on the user's socket.
    listenDMs({ onEvent: (env) => {
      if (env.type === 'withdrawal') requests.reload().catch(() => {});
    } });
  } catch (err) {
    state.status = 'error';
    showError(err);
  } finally {
    ui.main.removeAttribute('aria-busy');
  }
})();
