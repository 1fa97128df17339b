package room

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBus keeps what was published.
type fakeBus struct {
	mu   sync.Mutex
	msgs []Envelope
}

func (b *fakeBus) Publish(_ string, data []byte) error {
	var e Envelope
	if err := json.Unmarshal(data, &e); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, e)
	return nil
}

type fakeClips map[string]VoiceClip

func (f fakeClips) VoiceClip(_ context.Context, id string) (VoiceClip, bool, error) {
	c, ok := f[id]
	return c, ok, nil
}

type banAll struct{}

func (banAll) Restricted(context.Context, ID, string) (time.Time, string, bool, error) {
	return time.Time{}, "spam", true, nil
}

type fakeDMStore struct{ bodies []string }

func (s *fakeDMStore) SaveDM(_ context.Context, _, _, body string) (string, time.Time, error) {
	s.bodies = append(s.bodies, body)
	return NewMessageID(time.Now()), time.Now(), nil
}

var (
	ann = Sender{ID: "u-ann", Name: "ann"}
	bob = Sender{ID: "u-bob", Name: "bob"}
)

func voiceClips() fakeClips {
	return fakeClips{
		"c-room":  {OwnerID: ann.ID, Room: "star", Duration: 2345 * time.Millisecond},
		"c-other": {OwnerID: ann.ID, Room: "elsewhere", Duration: time.Second},
		"c-dm":    {OwnerID: ann.ID, ToUserID: bob.ID, Duration: 3 * time.Second},
		"c-bobs":  {OwnerID: bob.ID, Room: "star", Duration: time.Second},
	}
}

func voice(id string, extra ...string) Inbound {
	body := `{"id":"` + id + `"` + strings.Join(extra, "") + `}`
	return Inbound{Type: "voice", Body: json.RawMessage(body)}
}

// A voice message carries the clip's id and its length from the record (not
// the client's); only its owner may post it, and only in the room it was
// recorded for.
func TestChatVoice(t *testing.T) {
	bus := &fakeBus{}
	c := &Chat{Bus: bus, Clips: voiceClips()}
	env, err := c.Post(t.Context(), "star", &ann, voice("c-room", `,"duration_ms":999999`))
	if err != nil {
		t.Fatal(err)
	}
	var b VoiceBody
	if err := json.Unmarshal(env.Body, &b); err != nil || env.Type != "voice" || b != (VoiceBody{ID: "c-room", DurationMS: 2345}) || env.From.ID != ann.ID || env.ID == "" {
		t.Fatalf("envelope %+v body %s", env, env.Body)
	}
	if len(bus.msgs) != 1 || bus.msgs[0].ID != env.ID {
		t.Fatalf("published %+v", bus.msgs)
	}
	for _, tc := range []struct {
		name string
		from *Sender
		in   Inbound
		err  error
		msg  string
	}{
		{"again", &ann, voice("c-room"), ErrDuplicate, ""},
		{"anonymous", nil, voice("c-room"), ErrNotAllowed, ""},
		{"someone else's", &ann, voice("c-bobs"), ErrBadMessage, "someone else's"},
		{"another room's", &ann, voice("c-other"), ErrBadMessage, "another conversation"},
		{"a private message's", &ann, voice("c-dm"), ErrBadMessage, "another conversation"},
		{"unknown", &ann, voice("c-none"), ErrBadMessage, "upload it first"},
		{"no id", &ann, Inbound{Type: "voice", Body: json.RawMessage(`{"text":"hi"}`)}, ErrBadMessage, "voice clip id"},
		{"not an object", &ann, Inbound{Type: "voice", Body: json.RawMessage(`"c-room"`)}, ErrBadMessage, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.Post(t.Context(), "star", tc.from, tc.in); !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %v saying %q", err, tc.err, tc.msg)
			}
		})
	}
	if len(bus.msgs) != 1 {
		t.Fatalf("refused messages were published: %+v", bus.msgs[1:])
	}

	// Bans and the room's rules apply as to chat.
	banned := &Chat{Bus: bus, Clips: voiceClips(), Restrictions: banAll{}}
	if _, err := banned.Post(t.Context(), "star", &ann, voice("c-room")); !errors.Is(err, ErrBannedHere) {
		t.Fatalf("a banned user's voice message: %v", err)
	}
	ruled := &Chat{Bus: bus, Clips: voiceClips(), Rules: rules{ChatRules{FollowersOnly: true}}}
	if _, err := ruled.Post(t.Context(), "star", &ann, voice("c-room")); !errors.Is(err, ErrFollowers) {
		t.Fatalf("followers-only room: %v", err)
	}
	// Without clips the type is unknown.
	if _, err := (&Chat{Bus: bus}).Post(t.Context(), "star", &ann, voice("c-room")); !errors.Is(err, ErrUnknownType) {
		t.Fatalf("without clips: %v", err)
	}
}

type rules struct{ r ChatRules }

func (r rules) ChatRules(context.Context, ID, string) (ChatRules, error) { return r.r, nil }

// A private voice message is stored with a marker that DecodeDM reads back,
// and no typed text can forge it.
func TestDMVoice(t *testing.T) {
	bus, st := &fakeBus{}, &fakeDMStore{}
	d := &DMs{Store: st, Bus: bus, Clips: voiceClips()}
	env, err := d.SendVoice(t.Context(), ann, bob, "c-dm")
	if err != nil {
		t.Fatal(err)
	}
	var body DMBody
	if err := json.Unmarshal(env.Body, &body); err != nil || body.Voice == nil || *body.Voice != (VoiceBody{ID: "c-dm", DurationMS: 3000}) || body.Text != "" || body.To != bob {
		t.Fatalf("envelope body %s", env.Body)
	}
	if len(bus.msgs) != 2 { // both users' subjects
		t.Fatalf("published %d envelopes, want 2", len(bus.msgs))
	}
	text, v := DecodeDM(st.bodies[0])
	if text != "" || v == nil || *v != *body.Voice {
		t.Fatalf("stored %q decodes to %q, %+v", st.bodies[0], text, v)
	}
	for _, tc := range []struct {
		from, to Sender
		id, msg  string
	}{
		{ann, bob, "c-room", "another conversation"},
		{ann, Sender{ID: "u-cat", Name: "cat"}, "c-dm", "another conversation"},
		{bob, ann, "c-dm", "someone else's"},
		{ann, bob, "nope", "upload it first"},
	} {
		if _, err := d.SendVoice(t.Context(), tc.from, tc.to, tc.id); !errors.Is(err, ErrBadMessage) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("SendVoice(%s→%s, %s) = %v, want it to say %q", tc.from.Name, tc.to.Name, tc.id, err, tc.msg)
		}
	}
	// Text that looks like the marker is refused; other text reads back as is.
	if _, err := d.Send(t.Context(), ann, bob, encodeVoiceDM(VoiceBody{ID: "c-dm", DurationMS: 1})); !errors.Is(err, ErrBadMessage) {
		t.Fatalf("forged voice text: %v", err)
	}
	if _, err := d.Send(t.Context(), ann, bob, `voice:{"id":"c-dm"}`); err != nil {
		t.Fatal(err)
	}
	if text, v := DecodeDM(st.bodies[len(st.bodies)-1]); text != `voice:{"id":"c-dm"}` || v != nil {
		t.Fatalf("plain text decodes to %q, %+v", text, v)
	}
	if _, err := (&DMs{Store: st, Bus: bus}).SendVoice(t.Context(), ann, bob, "c-dm"); !errors.Is(err, ErrUnknownType) {
		t.Fatalf("without clips: %v", err)
	}
}
