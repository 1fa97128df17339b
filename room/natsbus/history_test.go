package natsbus

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/onair-live/onair/internal/natstest"
	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/room/hub"
)

// startJetStream runs an embedded NATS server with the ROOMS stream as the
// app creates it.
func startJetStream(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, js := natstest.Connect(t)
	if _, err := js.CreateOrUpdateStream(t.Context(), jetstream.StreamConfig{
		Name: "ROOMS", Subjects: []string{"onair.room.>"}, MaxMsgsPerSubject: HistoryLimit, MaxAge: HistoryMaxAge,
	}); err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func message(t testing.TB, id room.ID, text string, at time.Time) []byte {
	body, _ := json.Marshal(room.ChatBody{Text: text})
	b, err := json.Marshal(room.Envelope{V: 1, Type: "chat", ID: room.NewMessageID(at), Room: id, TS: at.UnixMilli(), Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func texts(t *testing.T, msgs [][]byte) []string {
	t.Helper()
	var out []string
	for _, m := range msgs {
		var e room.Envelope
		var b room.ChatBody
		if err := json.Unmarshal(m, &e); err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal(e.Body, &b)
		out = append(out, b.Text)
	}
	return out
}

type discard struct{}

func (discard) WriteBatch(context.Context, hub.Batch) error { return nil }

func apiCalls(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	info, err := js.AccountInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.API.Total
}

// While a node has sessions in a room, history comes from memory: loaded from
// the stream once, then kept up by the live subscription; joins and reconnects
// cost JetStream nothing. Without local sessions it reads the stream.
func TestRelayHistoryFromMemory(t *testing.T) {
	nc, js := startJetStream(t)
	h := hub.New(hub.Config{})
	t.Cleanup(h.Close)
	relay := NewRelay(nc, js, h)
	id := room.ID("ring")
	t0 := time.Now().Add(-time.Second) // stored before the live ones below
	for i := range 60 {
		if _, err := js.Publish(t.Context(), room.Subject(id), message(t, id, fmt.Sprint("m", i), t0.Add(time.Duration(i)*time.Millisecond))); err != nil {
			t.Fatal(err)
		}
	}
	leave, err := relay.Join(id, "s1", discard{}, func(error) {})
	if err != nil {
		t.Fatal(err)
	}
	got, err := relay.History(t.Context(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	if tx := texts(t, got); len(tx) != HistoryLimit || tx[0] != "m10" || tx[49] != "m59" {
		t.Fatalf("history on join: %d messages %v", len(tx), tx)
	}
	calls := apiCalls(t, js)
	for range 100 {
		if _, err := relay.History(t.Context(), id, ""); err != nil {
			t.Fatal(err)
		}
	}
	if after := apiCalls(t, js); after != calls+1 { // +1: the AccountInfo call itself
		t.Fatalf("100 history reads made %d JetStream API calls", after-calls-1)
	}

	// Live messages join the ring; after= returns only what is newer.
	last := got[len(got)-1]
	for i := range 3 {
		if err := nc.Publish(room.Subject(id), message(t, id, fmt.Sprint("live", i), time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err = relay.History(t.Context(), id, envelopeID(last))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if tx := texts(t, got); fmt.Sprint(tx) != "[live0 live1 live2]" {
		t.Fatalf("history after the last seen id: %v", tx)
	}
	if all, _ := relay.History(t.Context(), id, ""); len(all) != HistoryLimit || texts(t, all)[0] != "m13" {
		t.Fatalf("the ring keeps the last %d: %v", HistoryLimit, texts(t, all))
	}

	// The last session leaves: the node forgets the room and reads the stream.
	leave()
	calls = apiCalls(t, js)
	got, err = relay.History(t.Context(), id, envelopeID(last))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("history from the stream: %v", texts(t, got))
	}
	if apiCalls(t, js) <= calls+1 {
		t.Fatal("history without local sessions did not read the stream")
	}
}

// Messages that arrive while the ring loads are kept once each, in id order,
// and the ring holds at most the limit; messages past the age limit are not
// returned.
func TestRingMergesLoadAndLive(t *testing.T) {
	r := newRing()
	id := room.ID("merge")
	t0 := time.Now().Add(-time.Minute)
	var stored [][]byte
	for i := range 55 {
		stored = append(stored, message(t, id, fmt.Sprint("s", i), t0.Add(time.Duration(i)*10*time.Millisecond)))
	}
	r.add(stored[54])                                             // live during the load, and in the stream too
	r.add(message(t, id, "late", t0.Add(5*time.Second)))          // live only
	r.add(message(t, id, "skewed", t0.Add(535*time.Millisecond))) // another node's clock: between s53 and s54
	r.loaded(stored, nil)
	got, ok, err := r.since(t.Context(), "", time.Now())
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	tx := texts(t, got)
	if len(tx) != HistoryLimit || tx[49] != "late" || tx[48] != "s54" || tx[47] != "skewed" || tx[46] != "s53" {
		t.Fatalf("merged ring: %v", tx)
	}
	if got, _, _ := r.since(t.Context(), "", time.Now().Add(HistoryMaxAge+time.Hour)); len(got) != 0 {
		t.Fatalf("messages older than %s are returned: %d", HistoryMaxAge, len(got))
	}
	failed := newRing()
	failed.loaded(nil, fmt.Errorf("no stream"))
	if _, ok, err := failed.since(t.Context(), "", time.Now()); ok || err != nil {
		t.Fatalf("a ring that failed to load answers: ok=%v err=%v", ok, err)
	}
	waiting := newRing()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := waiting.since(ctx, "", time.Now()); err == nil {
		t.Fatal("reading a ring that never loads returned no error")
	}
}
