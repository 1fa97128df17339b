// The like button of the watch page. Each tap floats a heart over the player
// at once; taps are batched and sent on the room socket as one
// {"type":"like","body":{"count":N}} (N ≤ 50) every 300 ms while tapping.
// The server sums everybody's taps and sends `like` envelopes a few times a
// second with the count since the last one: they add to the counter on the
// button and float hearts too (at most MAX_HEARTS on screen at once).
// Logged out, a tap goes to /login?next=<this page>.
//
// state.likes (read by tests):
//   total    likes the room got since the page opened (sum of like envelopes)
//   sent     taps sent to the server
//   pending  taps not sent yet
//   taps     taps on this page
//   hearts   hearts on screen now

import { loginURL } from './api.js';
import { fmtCount, h, icon, setText } from './common.js';

export const BATCH_MS = 300;
export const MAX_BATCH = 50;
export const MAX_HEARTS = 24;
const HEART_MS = 1600;
const RETRY_MS = 1000;
const COLORS = ['#ff3358', '#ff6b8b', '#ff9f43', '#f368e0', '#ff4757'];

/**
 * mountLikes(button, layer, {send, loggedIn, state}): button gets a heart and
 * a counter; hearts float in layer (an empty element over the player).
 * send(count) sends a like message and returns false when the socket is not
 * open; loggedIn() is true, false, or null while unknown. Returns
 * {receive(count)} for the like envelopes.
 */
export function mountLikes(button, layer, { send, loggedIn, state }) {
  const likes = { total: 0, sent: 0, pending: 0, taps: 0, hearts: 0 };
  state.likes = likes;
  const count = h('span', { class: 'like-count', id: 'like-count' }, '0');
  button.replaceChildren(icon('heart', 20), h('span', { class: 'sr-only' }, 'Like'), count);
  button.title = 'Like';

  let timer = 0;
  let unechoed = 0; // taps sent whose hearts were shown already
  function flush() {
    timer = 0;
    if (!likes.pending) return;
    const n = Math.min(likes.pending, MAX_BATCH);
    if (send(n)) {
      likes.pending -= n;
      likes.sent += n;
      unechoed = Math.min(unechoed + n, MAX_BATCH * 4);
      if (likes.pending) timer = setTimeout(flush, BATCH_MS);
    } else {
      // Not connected: keep the taps (a burst's worth) and try again.
      likes.pending = Math.min(likes.pending, MAX_BATCH * 4);
      timer = setTimeout(flush, RETRY_MS);
    }
  }

  function heart(mine) {
    if (layer.childElementCount >= MAX_HEARTS || layer.clientWidth === 0) return;
    const el = h('span', { class: `heart${mine ? ' mine' : ''}` });
    el.append(icon('heart', mine ? 30 : 24));
    el.style.setProperty('--x', `${Math.round(Math.random() * 36 - 18)}px`);
    el.style.setProperty('--drift', `${Math.round(Math.random() * 60 - 30)}px`);
    el.style.setProperty('--dur', `${HEART_MS + Math.round(Math.random() * 500)}ms`);
    el.style.color = COLORS[Math.floor(Math.random() * COLORS.length)];
    let gone = false;
    const done = () => {
      if (gone) return;
      gone = true;
      el.remove();
      likes.hearts = layer.childElementCount;
    };
    el.addEventListener('animationend', done);
    setTimeout(done, HEART_MS + 1500); // a background tab may not end animations
    layer.append(el);
    likes.hearts = layer.childElementCount;
  }

  button.addEventListener('click', () => {
    const who = loggedIn();
    if (who === false) {
      location.href = loginURL();
      return;
    }
    if (who == null) return; // still asking who this is
    likes.taps++;
    likes.pending++;
    heart(true);
    button.classList.remove('pop');
    void button.offsetWidth; // restart the animation
    button.classList.add('pop');
    if (!timer) timer = setTimeout(flush, BATCH_MS);
  });

  function receive(n) {
    likes.total += n;
    setText(count, fmtCount(likes.total));
    button.title = `${likes.total} like${likes.total === 1 ? '' : 's'}`;
    // The sum includes this page's taps, which had their hearts already;
    // other people's likes get a few hearts, not one per tap.
    const own = Math.min(unechoed, n);
    unechoed -= own;
    const show = Math.min(n - own, 6, MAX_HEARTS - layer.childElementCount);
    for (let i = 0; i < show; i++) setTimeout(() => heart(false), i * 90);
  }

  return { receive };
}
