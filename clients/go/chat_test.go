package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fakeRoom speaks the room WebSocket protocol as README.md describes it: a
// history frame first (after ?after=), then every frame a JSON array of
// envelopes; refusals go back to the sender only as error envelopes.
type fakeRoom struct {
	t *testing.T

	mu      sync.Mutex
	history [][]byte
	conns   map[*websocket.Conn]bool
	afters  []string // ?after= of each connection
	next    int
}

func newFakeRoom(t *testing.T, history ...string) (*fakeRoom, *httptest.Server) {
	r := &fakeRoom{t: t, conns: map[*websocket.Conn]bool{}}
	for _, text := range history {
		r.history = append(r.history, r.envelope("chat", &Sender{ID: "u0", Name: "old"}, ChatBody{Text: text}))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws/rooms/{room}", r.serve)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return r, srv
}

// envelope makes the next envelope; ids are zero-padded counters, so they
// sort like ULIDs.
func (r *fakeRoom) envelope(typ string, from *Sender, body any) []byte {
	r.next++
	b, _ := json.Marshal(body)
	e, _ := json.Marshal(Envelope{V: 1, Type: typ, ID: fmt.Sprintf("%026d", r.next), Room: "demo", From: from, TS: 1700000000000, Body: b})
	return e
}

func frameOf(msgs ...[]byte) []byte {
	return append(append([]byte("["), bytes.Join(msgs, []byte(","))...), ']')
}

func errorEnvelope(code, msg string) []byte {
	b, _ := json.Marshal(map[string]string{"code": code, "message": msg})
	e, _ := json.Marshal(Envelope{V: 1, Type: "error", Room: "demo", TS: 1700000000000, Body: b})
	return e
}

func (r *fakeRoom) serve(w http.ResponseWriter, req *http.Request) {
	var from *Sender
	switch req.Header.Get("Authorization") {
	case "":
	case "Bearer good":
		from = &Sender{ID: "u1", Name: "alice"}
	default:
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"title":"Session expired","detail":"log in again","status":401}`))
		return
	}
	if req.PathValue("room") != "demo" {
		http.NotFound(w, req)
		return
	}
	conn, err := websocket.Accept(w, req, nil)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	ctx := req.Context()
	after := req.URL.Query().Get("after")
	r.mu.Lock()
	r.afters = append(r.afters, after)
	var hist [][]byte
	for _, m := range r.history {
		var e Envelope
		_ = json.Unmarshal(m, &e)
		if e.ID > after {
			hist = append(hist, m)
		}
	}
	r.conns[conn] = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.conns, conn)
		r.mu.Unlock()
	}()
	if len(hist) > 0 {
		_ = conn.Write(ctx, websocket.MessageText, frameOf(hist...))
	}
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return
		}
		var in struct {
			Type string          `json:"type"`
			Body json.RawMessage `json:"body"`
		}
		if json.Unmarshal(data, &in) != nil {
			_ = conn.Write(ctx, websocket.MessageText, frameOf(errorEnvelope("bad_message", "send JSON")))
			continue
		}
		var body ChatBody
		_ = json.Unmarshal(in.Body, &body)
		r.mu.Lock()
		var reply []byte
		switch {
		case from == nil:
			reply = frameOf(errorEnvelope("login_required", "log in to chat"))
		case body.Text == "slow":
			reply = frameOf([]byte(`{"v":1,"type":"error","room":"demo","ts":1700000000000,"body":{"code":"slow_down","message":"wait 1.0 s","retry_after_ms":800}}`))
		case body.Text == "mixed": // a live message and a refusal in one frame
			reply = frameOf(r.envelope("chat", from, ChatBody{Text: "other"}), errorEnvelope("duplicate", "said already"))
		case body.Text == "kick":
			r.mu.Unlock()
			_ = conn.Close(CloseKicked, "removed from the room by a moderator")
			return
		case body.Text == "lag": // as if this connection fell behind
			r.mu.Unlock()
			_ = conn.Close(CloseTooSlow, "too slow")
			return
		case body.Text == "restart":
			r.mu.Unlock()
			_ = conn.Close(websocket.StatusGoingAway, "the server is shutting down")
			return
		case body.Text == "drop":
			r.mu.Unlock()
			return // no close frame: a lost connection
		}
		if reply != nil {
			r.mu.Unlock()
			_ = conn.Write(ctx, websocket.MessageText, reply)
			continue
		}
		msg := r.envelope(in.Type, from, json.RawMessage(in.Body))
		r.history = append(r.history, msg)
		conns := make([]*websocket.Conn, 0, len(r.conns))
		for c := range r.conns {
			conns = append(conns, c)
		}
		r.mu.Unlock()
		for _, c := range conns {
			_ = c.Write(ctx, websocket.MessageText, frameOf(msg))
		}
	}
}

func chatContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dialFake(t *testing.T, srv *httptest.Server, token, after string) *Chat {
	t.Helper()
	c, err := DialChat(chatContext(t), Options{BaseURL: srv.URL, Room: "demo", Token: token}, after)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func chatText(t *testing.T, e Envelope) string {
	t.Helper()
	var b ChatBody
	if err := json.Unmarshal(e.Body, &b); err != nil {
		t.Fatalf("body %s: %v", e.Body, err)
	}
	return b.Text
}

func TestChatURL(t *testing.T) {
	tests := []struct{ base, room, after, want string }{
		{"http://127.0.0.1:8080", "demo", "", "ws://127.0.0.1:8080/ws/rooms/demo"},
		{"https://live.example.com/", "r1", "01J0", "wss://live.example.com/ws/rooms/r1?after=01J0"},
		{"http://h/prefix", "a b", "x&y", "ws://h/prefix/ws/rooms/a%20b?after=x%26y"},
	}
	for _, tt := range tests {
		if got, err := ChatURL(tt.base, tt.room, tt.after); err != nil || got != tt.want {
			t.Errorf("ChatURL(%q, %q, %q) = %q, %v; want %q", tt.base, tt.room, tt.after, got, err, tt.want)
		}
	}
	for _, bad := range [][2]string{{"ftp://h", "demo"}, {"http://h", ""}, {"127.0.0.1:8080", "demo"}} {
		if got, err := ChatURL(bad[0], bad[1], ""); err == nil {
			t.Errorf("ChatURL(%q, %q) = %q, want an error", bad[0], bad[1], got)
		}
	}
}

func TestDialChatRefused(t *testing.T) {
	_, srv := newFakeRoom(t)
	_, err := DialChat(chatContext(t), Options{BaseURL: srv.URL, Room: "demo", Token: "stale"}, "")
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusUnauthorized || he.Detail != "log in again" {
		t.Fatalf("DialChat with a refused token = %v, want HTTP 401 with the problem detail", err)
	}
	if _, err := DialChat(chatContext(t), Options{BaseURL: srv.URL, Room: "nowhere"}, ""); !errors.As(err, &he) || he.Status != http.StatusNotFound {
		t.Fatalf("DialChat to a missing path = %v, want HTTP 404", err)
	}
}

func TestChatHistorySendAndRefusals(t *testing.T) {
	room, srv := newFakeRoom(t, "one", "two", "three")
	ctx := chatContext(t)
	c := dialFake(t, srv, "good", "")
	for _, want := range []string{"one", "two", "three"} {
		e, err := c.Next(ctx)
		if err != nil || e.Type != "chat" || chatText(t, e) != want {
			t.Fatalf("history: %+v, %v; want %q", e, err, want)
		}
	}
	if c.LastID() != fmt.Sprintf("%026d", 3) {
		t.Errorf("LastID after history = %q", c.LastID())
	}

	if err := c.SendChat(ctx, "hi"); err != nil {
		t.Fatal(err)
	}
	e, err := c.Next(ctx)
	if err != nil || chatText(t, e) != "hi" || e.From == nil || e.From.Name != "alice" || e.Room != "demo" || e.TS == 0 {
		t.Fatalf("echo: %+v, %v", e, err)
	}

	// A refusal is an error, and the session goes on.
	if err := c.SendChat(ctx, "slow"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Next(ctx)
	var re *RoomError
	if !errors.As(err, &re) || *re != (RoomError{Code: "slow_down", Message: "wait 1.0 s", RetryAfterMS: 800}) {
		t.Fatalf("refusal: %v, want *RoomError slow_down", err)
	}
	if err := c.SendDanmaku(ctx, "fly", "#ff0000", "top"); err != nil {
		t.Fatal(err)
	}
	e, err = c.Next(ctx)
	var body ChatBody
	_ = json.Unmarshal(e.Body, &body)
	if err != nil || e.Type != "danmaku" || body != (ChatBody{Text: "fly", Color: "#ff0000", Position: "top"}) {
		t.Fatalf("danmaku: %+v %+v, %v", e, body, err)
	}
	if err := c.SendLike(ctx, 3); err != nil {
		t.Fatal(err)
	}
	batch, err := c.Read(ctx)
	var like LikeBody
	if err != nil || len(batch) != 1 || batch[0].Type != "like" || json.Unmarshal(batch[0].Body, &like) != nil || like.Count != 3 {
		t.Fatalf("like: %+v, %v", batch, err)
	}
	room.mu.Lock()
	newest := fmt.Sprintf("%026d", room.next)
	room.mu.Unlock()
	if c.LastID() != batch[0].ID || c.LastID() != newest {
		t.Errorf("LastID %q, want the like's id %q", c.LastID(), batch[0].ID)
	}

	// Read takes refusals out of a batch and returns the rest with the error.
	if err := c.SendChat(ctx, "mixed"); err != nil {
		t.Fatal(err)
	}
	batch, err = c.Read(ctx)
	if !errors.As(err, &re) || re.Code != "duplicate" || len(batch) != 1 || chatText(t, batch[0]) != "other" {
		t.Fatalf("mixed frame: %+v, %v", batch, err)
	}
}

func TestChatReadOnlyAndAfter(t *testing.T) {
	room, srv := newFakeRoom(t, "one", "two", "three")
	ctx := chatContext(t)
	c := dialFake(t, srv, "", fmt.Sprintf("%026d", 2))
	if c.LastID() != fmt.Sprintf("%026d", 2) {
		t.Errorf("LastID before reading = %q, want the after id", c.LastID())
	}
	e, err := c.Next(ctx)
	if err != nil || chatText(t, e) != "three" {
		t.Fatalf("resumed history: %+v, %v; want only what came after", e, err)
	}
	room.mu.Lock()
	afters := room.afters
	room.mu.Unlock()
	if len(afters) != 1 || afters[0] != fmt.Sprintf("%026d", 2) {
		t.Errorf("server saw after=%q", afters)
	}
	if err := c.SendChat(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	var re *RoomError
	if _, err := c.Next(ctx); !errors.As(err, &re) || re.Code != "login_required" {
		t.Fatalf("anonymous send: %v, want login_required", err)
	}
}

func TestChatClosedByServer(t *testing.T) {
	_, srv := newFakeRoom(t)
	ctx := chatContext(t)
	c := dialFake(t, srv, "good", "")
	if err := c.SendChat(ctx, "kick"); err != nil {
		t.Fatal(err)
	}
	_, err := c.Next(ctx)
	code, reason := CloseReason(err)
	if code != CloseKicked || reason != "removed from the room by a moderator" {
		t.Fatalf("after a kick: %v (close %d %q)", err, code, reason)
	}
	if Reconnect(err) {
		t.Error("Reconnect after a kick")
	}
	if code, _ := CloseReason(errors.New("other")); code != -1 {
		t.Errorf("CloseReason of a plain error = %d", code)
	}
}

// A connection cut off for being slow, one the server closes as it shuts
// down, and one lost without a close frame are dialled again; a kick is not.
func TestReconnectByCloseCode(t *testing.T) {
	_, srv := newFakeRoom(t)
	ctx := chatContext(t)
	for _, c := range []struct {
		text string
		code websocket.StatusCode
		want bool
	}{
		{"lag", CloseTooSlow, true},
		{"restart", websocket.StatusGoingAway, true},
		{"drop", -1, true},
		{"kick", CloseKicked, false},
	} {
		conn := dialFake(t, srv, "good", "")
		if err := conn.SendChat(ctx, c.text); err != nil {
			t.Fatal(err)
		}
		_, err := conn.Next(ctx)
		if code, _ := CloseReason(err); code != c.code || err == nil {
			t.Errorf("%s: %v (close %d), want close %d", c.text, err, code, c.code)
		}
		if got := Reconnect(err); got != c.want {
			t.Errorf("%s: Reconnect(%v) = %v, want %v", c.text, err, got, c.want)
		}
	}
}

// ReadFrame grows the buffer it is given and reuses it when it is big enough.
func TestReadFrame(t *testing.T) {
	room, srv := newFakeRoom(t)
	long := strings.Repeat("x", 6000)
	room.mu.Lock()
	room.history = append(room.history, room.envelope("chat", nil, ChatBody{Text: long}))
	room.mu.Unlock()
	ctx := chatContext(t)
	c := dialFake(t, srv, "good", "")
	buf := make([]byte, 0, 16)
	frame, err := c.ReadFrame(ctx, buf)
	if err != nil || !strings.Contains(string(frame), long) || frame[0] != '[' || frame[len(frame)-1] != ']' {
		t.Fatalf("ReadFrame: %d bytes, %v", len(frame), err)
	}
	if err := c.SendChat(ctx, "short"); err != nil {
		t.Fatal(err)
	}
	again, err := c.ReadFrame(ctx, frame)
	if err != nil || !strings.Contains(string(again), `"short"`) {
		t.Fatalf("second ReadFrame: %s, %v", again, err)
	}
	if &again[:1][0] != &frame[:1][0] {
		t.Error("ReadFrame did not reuse a buffer that was big enough")
	}
	if c.LastID() != "" {
		t.Errorf("ReadFrame moved LastID to %q", c.LastID())
	}
}

func TestDecodeFrame(t *testing.T) {
	batch, err := DecodeFrame([]byte(` [{"v":1,"type":"chat","id":"A","body":{"text":"a"}},{"v":1,"type":"system","body":{"event":"dropped","count":2}}] `))
	if err != nil || len(batch) != 2 || batch[0].ID != "A" || batch[1].Type != "system" {
		t.Fatalf("DecodeFrame: %+v, %v", batch, err)
	}
	if batch, err := DecodeFrame([]byte(`[]`)); err != nil || len(batch) != 0 {
		t.Errorf("empty frame: %+v, %v", batch, err)
	}
	for _, bad := range []string{``, `{"type":"chat"}`, `[1]`, `[{"type":`} {
		if _, err := DecodeFrame([]byte(bad)); !errors.Is(err, ErrBadFrame) {
			t.Errorf("DecodeFrame(%q) = %v, want ErrBadFrame", bad, err)
		}
	}
}

func TestAccounts(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/auth/signup", func(w http.ResponseWriter, r *http.Request) {
		var in map[string]string
		if json.NewDecoder(r.Body).Decode(&in) != nil || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if in["name"] == "taken" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"title":"Name taken","detail":"name \"taken\" is taken","status":409}`))
			return
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"token": "T-" + in["name"], "user": map[string]string{"id": "u1", "name": in["name"], "role": "viewer"}})
	})
	mux.HandleFunc("POST /api/auth/login", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"title":"Too many attempts","detail":"try again in 7 s","status":429}`))
	})
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer T-bob" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"id": "u1", "name": "bob", "display_name": "Bob", "role": "viewer"})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := chatContext(t)
	o := Options{BaseURL: srv.URL + "/"}

	l, err := Signup(ctx, o, "bob", "password")
	if err != nil || l.Token != "T-bob" || l.User.Name != "bob" || l.User.Role != "viewer" {
		t.Fatalf("Signup: %+v, %v", l, err)
	}
	_, err = Signup(ctx, o, "taken", "password")
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusConflict || !strings.Contains(he.Detail, "is taken") {
		t.Errorf("Signup of a taken name: %v", err)
	}
	_, err = LogIn(ctx, o, "bob", "password")
	var rl *RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second || !errors.As(err, &he) || he.Status != http.StatusTooManyRequests {
		t.Errorf("LogIn when rate-limited: %v", err)
	}
	o.Token = l.Token
	if u, err := Me(ctx, o); err != nil || u.Name != "bob" || u.DisplayName != "Bob" {
		t.Errorf("Me: %+v, %v", u, err)
	}
	o.Token = "nope"
	if _, err := Me(ctx, o); !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
		t.Errorf("Me with a bad token: %v", err)
	}
	if _, err := Me(ctx, Options{BaseURL: "ftp://x"}); err == nil {
		t.Error("Me with an ftp URL succeeded")
	}
}
