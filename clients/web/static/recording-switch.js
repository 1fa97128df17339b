// The studio's "Record broadcasts" switch (its streamer or an admin): GET
// /api/rooms/{room}/recording shows it ({record: true | false | null,
// effective, platform_default}); flipping it PUTs {"record": on} and shows
// what the server answers; "Use the server's setting" PUTs null. The note
// says whether the platform records every broadcast anyway and that a
// change applies from the next broadcast; errors are shown in words.
//
// state.recording (read by tests): {status: "loading" | "ready" | "saving" |
// "error", record (true, false or null), effective, platformDefault, error}

import { api } from './api.js';
import { errorMessage, setText } from './common.js';

/** What the switch means now, in words. */
function describe({ record, effective, platform_default: platform }) {
  const next = ' Changes apply from your next broadcast.';
  if (record === null) {
    return platform
      ? `This server records every broadcast, yours included, unless you turn this off.${next}`
      : `Off: your broadcasts are not recorded. Turn it on to keep them for replay on your room page.${next}`;
  }
  if (effective) {
    return platform
      ? `On (this server records every broadcast anyway). Past broadcasts are listed on your room page.${next}`
      : `On: your broadcasts are recorded and listed under Past broadcasts on your room page.${next}`;
  }
  return platform
    ? `Off: this server records every broadcast, but not yours.${next}`
    : `Off: your broadcasts are not recorded.${next}`;
}

export function mountRecordingSwitch(card, { room, state }) {
  const $ = (id) => card.querySelector(`#${id}`);
  const input = $('record-switch');
  const note = $('record-note');
  const status = $('recording-status');
  const errorBox = $('record-error');
  const reset = $('record-default');
  const url = `/api/rooms/${encodeURIComponent(room)}/recording`;
  state.recording = { status: 'loading', record: null, effective: false, platformDefault: false, error: '' };
  card.hidden = false;

  const setStatus = (s, error = '') => {
    state.recording.status = s;
    state.recording.error = error;
    setText(errorBox, error);
    errorBox.hidden = !error;
    setText(status, { loading: 'Loading…', saving: 'Saving…' }[s] || '');
    input.disabled = s === 'loading' || s === 'saving' || (s === 'error' && !state.recording.loaded);
    reset.disabled = input.disabled;
  };

  const show = (sw) => {
    Object.assign(state.recording, { record: sw.record ?? null, effective: !!sw.effective, platformDefault: !!sw.platform_default, loaded: true });
    input.checked = !!sw.effective;
    setText(note, describe({ record: sw.record ?? null, effective: !!sw.effective, platform_default: !!sw.platform_default }));
    // Going back to the server's setting is offered once a choice is made.
    reset.hidden = sw.record === null || sw.record === undefined;
    setText(reset, `Use the server's setting (${sw.platform_default ? 'record every broadcast' : 'do not record'})`);
  };

  const failure = (err, doing) => {
    if (err.status === 404) return 'Recording is not available: this server runs without ffmpeg, or the room does not exist yet.';
    if (err.status === 401) return 'Your session ended. Log in again to change recording.';
    if (err.status === 403) return 'Only the room\'s streamer or an admin can change whether it is recorded.';
    return `Could not ${doing}: ${errorMessage(err)}`;
  };

  async function save(record) {
    setStatus('saving');
    try {
      show(await api(url, { method: 'PUT', body: { record } }));
      setStatus('ready');
    } catch (err) {
      input.checked = state.recording.effective; // as the server still has it
      setStatus('error', failure(err, 'save the recording setting'));
    }
  }

  input.addEventListener('change', () => save(input.checked));
  reset.addEventListener('click', () => save(null));

  (async () => {
    setStatus('loading');
    try {
      show(await api(url));
      setStatus('ready');
    } catch (err) {
      setText(note, '');
      setStatus('error', failure(err, 'load the recording setting'));
    }
  })();
}
