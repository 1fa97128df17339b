// The REST API under /api/ as the pages use it: JSON requests that carry the
// session cookie (onair_session, HttpOnly, so the pages never see the token),
// problem+json errors (RFC 9457) turned into ProblemError, the current user,
// and the account area of a page's top bar.
//
// Errors: every call throws a ProblemError whose message is the problem's
// detail (what a person can act on), whose status is the HTTP status (0 when
// the server cannot be reached) and whose retryAfter is the Retry-After
// header in seconds (429) or null.

import { h, ProblemError, problemFromResponse, setText } from './common.js';

/** Login handles: the server's rule, checked before a request is sent. */
export const NAME_PATTERN = /^[a-z0-9_-]{3,32}$/;
export const MIN_PASSWORD = 8;

const STREAMER_ROLES = ['streamer', 'admin', 'superadmin'];
const ADMIN_ROLES = ['admin', 'superadmin'];

/**
 * Sends a request to the API and returns its decoded JSON body (null for an
 * empty body, such as 204). body, when given, is sent as JSON.
 */
export async function api(path, { method = 'GET', body, signal } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store', signal };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ProblemError(0, 'Cannot reach the server', 'Cannot reach the server. Check your connection and try again.');
  }
  if (!resp.ok) throw await problemFromResponse(resp);
  const text = await resp.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new ProblemError(resp.status, 'Bad answer', 'The server sent an answer this page cannot read.');
  }
}

// ---------------------------------------------------------------------------
// The current user

let me = null;

/**
 * GET /api/me, once per page (fresh: true asks again). Resolves to
 * {user, status}: user is the user object or null; status is 200, 401 when
 * logged out, another HTTP status, or 0 when the server cannot be reached.
 * It never throws.
 */
export function fetchMe({ fresh = false } = {}) {
  if (!me || fresh) {
    me = api('/api/me').then(
      (user) => ({ user: user && typeof user.name === 'string' ? user : null, status: 200 }),
      (err) => ({ user: null, status: err.status || 0 }),
    );
  }
  return me;
}

/** The logged-in user, or null. */
export async function currentUser() {
  return (await fetchMe()).user;
}

/** POST /api/auth/logout: the server clears the session cookie. */
export async function logout() {
  try {
    await api('/api/auth/logout', { method: 'POST' });
  } catch (err) {
    if (err.status !== 401) throw err; // 401: the session had already ended
  }
  me = Promise.resolve({ user: null, status: 401 });
}

/** Whether the user may stream (and so owns a room and a stream key). */
export function isStreamer(user) {
  return !!user && STREAMER_ROLES.includes(user.role);
}

export function isAdmin(user) {
  return !!user && ADMIN_ROLES.includes(user.role);
}

/** A user's or a streamer's display name, else the login handle. */
export function displayName(person) {
  if (!person) return '';
  return String(person.display_name || '').trim() || String(person.name || '');
}

/** Starts or stops following a user (POST or DELETE /api/users/{name}/follow). */
export function setFollowing(name, follow) {
  return api(`/api/users/${encodeURIComponent(name)}/follow`, { method: follow ? 'POST' : 'DELETE' });
}

// ---------------------------------------------------------------------------
// Where to go after logging in

/**
 * A ?next= value made safe: a path on this site (with its query and hash),
 * else fallback. "//evil", "https://evil" and "javascript:" give fallback.
 */
export function safeNext(raw, fallback = '/') {
  if (typeof raw !== 'string' || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\')) return fallback;
  try {
    const u = new URL(raw, location.origin);
    if (u.origin !== location.origin) return fallback;
    return u.pathname + u.search + u.hash;
  } catch {
    return fallback;
  }
}

/** /login with ?next= the current page (or next), and ?tab=signup when asked. */
export function loginURL({ next = location.pathname + location.search, signup = false } = {}) {
  const q = new URLSearchParams();
  if (signup) q.set('tab', 'signup');
  if (next && next !== '/') q.set('next', next);
  const s = q.toString();
  return s ? `/login?${s}` : '/login';
}

// ---------------------------------------------------------------------------
// The account area of a top bar

/**
 * Fills container with "Log in" and "Sign up" links when user is null, else
 * the user's name, "My studio" for streamers, "Live wall" for admins and a
 * "Log out" button.
 * onLogout() runs after a successful logout.
 */
export function renderAccount(container, user, { onLogout = null } = {}) {
  if (!container) return;
  container.replaceChildren();
  if (!user) {
    container.append(
      h('a', { class: 'btn small ghost', href: loginURL(), 'data-action': 'login' }, 'Log in'),
      h('a', { class: 'btn small primary', href: loginURL({ signup: true }), 'data-action': 'signup' }, 'Sign up'),
    );
    return;
  }
  if (isStreamer(user)) {
    container.append(h('a', { class: 'btn small', href: `/studio/${encodeURIComponent(user.name)}`, 'data-action': 'studio' }, 'My studio'));
  }
  if (isAdmin(user)) {
    const wall = h('a', { class: 'btn small ghost', href: '/admin/live', 'data-action': 'live-wall', title: 'Every live room, for moderation' }, 'Live wall');
    if (location.pathname === '/admin/live') wall.setAttribute('aria-current', 'page');
    container.append(wall);
  }
  container.append(h('span', { class: 'account-name', title: `@${user.name}` }, displayName(user)));
  const out = h('button', { type: 'button', class: 'btn small ghost', 'data-action': 'logout' }, 'Log out');
  out.addEventListener('click', async () => {
    out.disabled = true;
    try {
      await logout();
      if (onLogout) onLogout();
      else renderAccount(container, null);
    } catch (err) {
      setText(out, 'Log out failed');
      out.title = err.message;
      out.disabled = false;
    }
  });
  container.append(out);
}
