// The logged-in user's private messages on every page: the top bar's
// "Messages" link with the number of unread messages (common.js mounts it on
// every page that has a top bar) and GET /ws/me, the user's private messages
// live, one socket per page shared by whoever listens.
//
// /ws/me sends the frames of a room socket (chat.js): each is a JSON array of
// envelopes, and a private message is
//   {"v":1,"type":"dm","id","from":{"id","name"},"ts","body":{"to":{"id","name"},"text"}}
// delivered to every session of both users (the sender's other tabs too). It
// sends no history: after each (re)connect listeners hear "open" and ask the
// API for what they missed.
//
// The top bar keeps its count by itself (GET /api/dm, +1 for each message
// from someone else, asked again after a reconnect and when the page comes
// back into view) unless the page calls countUnreadHere() before the user is
// known: the messages page, which knows what it marks read, then sets the
// count with setUnreadTotal(n).

import { api, fetchMe } from './api.js';
import { RoomSocket } from './chat.js';
import { h, icon, setText } from './common.js';

/** GET /ws/me: the room socket's reconnects and de-duplication, on the user's own stream. */
class UserSocket extends RoomSocket {
  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}/ws/me`;
  }
}

const listeners = new Set();
let socket = null;

/**
 * Listens to the user's private messages: listener.onDM(envelope) for each new
 * dm envelope, listener.onRead(envelope) for each dm_read ({"from": the reader,
 * "body": {"with": whose messages they read}}), listener.onEvent(envelope) for
 * the user's other notices (recharge, withdrawal), listener.onStatus(status) with "connecting" | "open" | "closed"
 * (called at once with the current one). The first listener opens the socket.
 * Returns a function that stops listening.
 */
export function listenDMs(listener) {
  listeners.add(listener);
  if (!socket) {
    socket = new UserSocket('', {
      onBatch: (envs) => {
        for (const env of envs) {
          if (!env.body || typeof env.body !== 'object') continue;
          if (env.type === 'dm') for (const l of listeners) l.onDM?.(env);
          else if (env.type === 'dm_read') for (const l of listeners) l.onRead?.(env);
          else for (const l of listeners) l.onEvent?.(env); // recharge, withdrawal…
        }
      },
      onStatus: (status) => {
        for (const l of listeners) l.onStatus?.(status);
      },
    });
    socket.connect();
  } else {
    listener.onStatus?.(socket.status);
  }
  return () => listeners.delete(listener);
}

/** The sum of the unread counts of GET /api/dm's conversations. */
export function sumUnread(conversations) {
  let n = 0;
  for (const c of Array.isArray(conversations) ? conversations : []) n += Math.max(0, Number(c?.unread) || 0);
  return n;
}

// ---------------------------------------------------------------------------
// The top bar's link

let total = 0;
let pageCounts = false;
let link = null;
let badge = null;
let mounted = null;

/** The messages page keeps the count: the top bar stops counting by itself. */
export function countUnreadHere() {
  pageCounts = true;
}

/** Shows n unread messages in the top bar (0 hides the badge). */
export function setUnreadTotal(n) {
  total = Math.max(0, Math.floor(Number(n) || 0));
  if (!link) return;
  setText(badge, total > 99 ? '99+' : String(total));
  badge.hidden = total === 0;
  link.dataset.unread = String(total);
  link.setAttribute('aria-label', total ? `Messages, ${total} unread` : 'Messages');
}

/**
 * Adds "Messages" to the page's top bar (before its account area, else at its
 * end) once the user is known to be logged in. Idempotent.
 */
export function mountTopbarInbox() {
  mounted ||= mount().catch(() => {
    /* no link: the page works without it */
  });
  return mounted;
}

async function mount() {
  const bar = document.querySelector('header.topbar');
  const { user } = await fetchMe();
  if (!bar || !user || bar.querySelector('.topbar-messages')) return;
  badge = h('span', { class: 'topbar-badge', 'aria-hidden': 'true', hidden: true });
  link = h('a', { class: 'topbar-messages', href: '/messages', id: 'topbar-messages', title: 'Messages' },
    icon('chat', 20), h('span', { class: 'topbar-messages-label' }, 'Messages'), badge);
  if (location.pathname === '/messages') link.setAttribute('aria-current', 'page');
  bar.insertBefore(link, bar.querySelector('.account'));
  setUnreadTotal(total);
  if (pageCounts) return;

  const refresh = async () => {
    try {
      setUnreadTotal(sumUnread((await api('/api/dm'))?.conversations));
    } catch {
      /* keep the count shown */
    }
  };
  listenDMs({
    onDM: (env) => {
      if (env.from?.name !== user.name) setUnreadTotal(total + 1);
    },
    onRead: (env) => {
      if (env.from?.name === user.name) refresh(); // read in another tab
    },
    onStatus: (status) => {
      if (status === 'open') refresh();
    },
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) refresh();
  });
}
