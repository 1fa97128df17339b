// The login page, /login: two tabs, "Log in" (POST /api/auth/login) and
// "Sign up" (POST /api/auth/signup), on one form. The server sets the session
// cookie; on success the page goes to ?next= (a path on this site only,
// default "/"). Errors show inline: the problem's detail, and for 429 a
// countdown from Retry-After. A user who is already logged in gets
// "Continue" and "Log out" instead of the form.
//
// Query parameters: ?tab=signup opens the sign-up tab (so does #signup),
// ?next=/watch/room goes there after logging in.
//
// window.state (read by tests):
//   status  "loading" | "ready" | "submitting" | "error" | "done"
//   error   the message shown for the last attempt ("" when none)
//   user    the logged-in user's name, or null
//   tab     "login" | "signup"

import { api, fetchMe, logout, MIN_PASSWORD, NAME_PATTERN, safeNext } from './api.js';
import { errorMessage, param, setText } from './common.js';

const $ = (id) => document.getElementById(id);
const ui = {
  tabs: { login: $('tab-login'), signup: $('tab-signup') },
  form: $('auth-form'),
  name: $('name'),
  nameHint: $('name-hint'),
  nameError: $('name-error'),
  password: $('password'),
  passwordHint: $('password-hint'),
  passwordError: $('password-error'),
  passwordToggle: $('password-toggle'),
  formError: $('form-error'),
  submit: $('submit'),
  switchText: $('switch-text'),
  switchButton: $('switch'),
  signedIn: $('signed-in'),
  signedInName: $('signed-in-name'),
  continueLink: $('continue'),
  logout: $('logout'),
};

const TABS = {
  login: {
    label: 'Log in',
    busy: 'Logging in…',
    path: '/api/auth/login',
    autocomplete: 'current-password',
    switchText: 'New here?',
    switchLabel: 'Create an account',
    title: 'Log in · onair',
  },
  signup: {
    label: 'Sign up',
    busy: 'Creating your account…',
    path: '/api/auth/signup',
    autocomplete: 'new-password',
    switchText: 'Have an account?',
    switchLabel: 'Log in',
    title: 'Sign up · onair',
  },
};

const state = { status: 'loading', error: '', user: null, tab: 'login' };
window.state = state;

const next = safeNext(param('next'));
let cooldownUntil = 0;
let cooldownTimer = 0;

// ---------------------------------------------------------------------------
// Tabs

function setTab(tab, { focus = false } = {}) {
  const t = TABS[tab] ? tab : 'login';
  state.tab = t;
  for (const [name, el] of Object.entries(ui.tabs)) {
    const selected = name === t;
    el.setAttribute('aria-selected', String(selected));
    el.tabIndex = selected ? 0 : -1;
    if (selected && focus) el.focus();
  }
  const cfg = TABS[t];
  ui.form.setAttribute('aria-labelledby', ui.tabs[t].id);
  ui.password.autocomplete = cfg.autocomplete;
  setText(ui.switchText, cfg.switchText);
  setText(ui.switchButton, cfg.switchLabel);
  document.title = cfg.title;
  clearErrors();
  renderSubmit();
  // Keep the tab in the address, so a reload or a shared link opens it.
  const url = new URL(location.href);
  if (t === 'signup') url.searchParams.set('tab', 'signup');
  else url.searchParams.delete('tab');
  url.hash = '';
  history.replaceState(null, '', url.pathname + url.search);
}

function onTabKey(e) {
  if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight' && e.key !== 'Home' && e.key !== 'End') return;
  e.preventDefault();
  const order = ['login', 'signup'];
  let i = order.indexOf(state.tab);
  if (e.key === 'Home') i = 0;
  else if (e.key === 'End') i = order.length - 1;
  else i = (i + (e.key === 'ArrowRight' ? 1 : order.length - 1)) % order.length;
  setTab(order[i], { focus: true });
}

// ---------------------------------------------------------------------------
// Errors

function fieldError(input, el, message) {
  setText(el, message);
  el.hidden = !message;
  // The sign-up hint says the same as most errors: show one of them.
  const hint = input === ui.name ? ui.nameHint : ui.passwordHint;
  hint.hidden = state.tab !== 'signup' || !!message;
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

function formError(message) {
  state.error = message;
  setText(ui.formError, message);
  ui.formError.hidden = !message;
}

function clearErrors() {
  fieldError(ui.name, ui.nameError, '');
  fieldError(ui.password, ui.passwordError, '');
  if (!cooling()) formError('');
}

/** Checks the fields before sending; returns whether they look right. */
function validate() {
  const name = ui.name.value.trim().toLowerCase();
  ui.name.value = name;
  const password = ui.password.value;
  let nameMsg = '';
  let passwordMsg = '';
  if (!name) nameMsg = 'Enter your name.';
  else if (!NAME_PATTERN.test(name)) nameMsg = 'Names are 3–32 characters: lowercase letters, digits, - and _.';
  if (!password) passwordMsg = 'Enter your password.';
  else if (state.tab === 'signup' && password.length < MIN_PASSWORD) passwordMsg = `Use at least ${MIN_PASSWORD} characters.`;
  fieldError(ui.name, ui.nameError, nameMsg);
  fieldError(ui.password, ui.passwordError, passwordMsg);
  if (nameMsg) ui.name.focus();
  else if (passwordMsg) ui.password.focus();
  return !nameMsg && !passwordMsg;
}

// ---------------------------------------------------------------------------
// 429: wait for Retry-After

function cooling() {
  return cooldownUntil > Date.now();
}

function startCooldown(seconds) {
  cooldownUntil = Date.now() + seconds * 1000;
  clearTimeout(cooldownTimer);
  const tick = () => {
    const left = Math.ceil((cooldownUntil - Date.now()) / 1000);
    if (left <= 0) {
      cooldownUntil = 0;
      formError('');
      state.status = 'ready';
      renderSubmit();
      return;
    }
    formError(`Too many attempts, try again in ${left} s`);
    renderSubmit();
    cooldownTimer = setTimeout(tick, (cooldownUntil - Date.now()) % 1000 || 1000);
  };
  tick();
}

// ---------------------------------------------------------------------------
// Submit

function renderSubmit() {
  const cfg = TABS[state.tab];
  const busy = state.status === 'submitting' || state.status === 'done';
  setText(ui.submit, busy ? cfg.busy : cfg.label);
  ui.submit.disabled = busy || cooling();
  ui.form.setAttribute('aria-busy', String(busy));
}

async function submit(e) {
  e.preventDefault();
  if (state.status === 'submitting' || state.status === 'done' || cooling()) return;
  clearErrors();
  if (!validate()) return;
  state.status = 'submitting';
  renderSubmit();
  try {
    const res = await api(TABS[state.tab].path, {
      method: 'POST',
      body: { name: ui.name.value, password: ui.password.value },
    });
    state.user = res?.user?.name || ui.name.value;
    state.status = 'done';
    renderSubmit();
    location.replace(next);
  } catch (err) {
    state.status = 'error';
    showFailure(err);
    renderSubmit();
  }
}

function showFailure(err) {
  const message = errorMessage(err);
  switch (err.status) {
    case 429:
      if (err.retryAfter != null && err.retryAfter > 0) {
        startCooldown(err.retryAfter);
        return;
      }
      formError('Too many attempts, try again in a moment.');
      return;
    case 409: // the name is taken
      fieldError(ui.name, ui.nameError, message);
      formError('');
      state.error = message;
      ui.name.focus();
      return;
    case 401:
      formError(message || 'Wrong name or password.');
      ui.password.select();
      ui.password.focus();
      return;
    default:
      formError(message);
  }
}

// ---------------------------------------------------------------------------
// Already logged in

function showSignedIn(user) {
  state.user = user ? user.name : null;
  ui.signedIn.hidden = !user;
  ui.form.hidden = !!user;
  for (const el of Object.values(ui.tabs)) el.parentElement.hidden = !!user;
  if (user) {
    setText(ui.signedInName, user.display_name || user.name);
    ui.continueLink.href = next;
  }
}

// ---------------------------------------------------------------------------
// Wiring

for (const [name, el] of Object.entries(ui.tabs)) {
  el.addEventListener('click', () => setTab(name));
  el.addEventListener('keydown', onTabKey);
}
ui.switchButton.addEventListener('click', () => {
  setTab(state.tab === 'login' ? 'signup' : 'login');
  ui.name.focus();
});
ui.form.addEventListener('submit', submit);
for (const [input, error] of [
  [ui.name, ui.nameError],
  [ui.password, ui.passwordError],
]) {
  input.addEventListener('input', () => {
    if (!error.hidden) fieldError(input, error, '');
  });
}
ui.passwordToggle.addEventListener('click', () => {
  const show = ui.password.type === 'password';
  ui.password.type = show ? 'text' : 'password';
  setText(ui.passwordToggle, show ? 'Hide' : 'Show');
  ui.passwordToggle.setAttribute('aria-pressed', String(show));
});
ui.logout.addEventListener('click', async () => {
  ui.logout.disabled = true;
  try {
    await logout();
    showSignedIn(null);
    ui.name.focus();
  } catch (err) {
    setText(ui.logout, `Log out failed: ${errorMessage(err)}`);
  } finally {
    ui.logout.disabled = false;
  }
});

setTab(param('tab') === 'signup' || location.hash === '#signup' ? 'signup' : 'login');
fetchMe().then(({ user }) => {
  showSignedIn(user);
  state.status = 'ready';
  if (!user) ui.name.focus();
});
