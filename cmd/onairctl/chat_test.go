package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	client "github.com/onair-live/onair/clients/go"
)

func TestParseChat(t *testing.T) {
	c, err := parseChat([]string{"demo"}, io.Discard)
	if err != nil || c != (chatConfig{URL: defaultURL, Room: "demo"}) {
		t.Errorf("parseChat(demo) = %+v, %v", c, err)
	}
	c, err = parseChat([]string{"--url", "https://live.example.com", "demo", "--token", "T", "--after", "01J", "--json"}, io.Discard)
	if err != nil || c != (chatConfig{URL: "https://live.example.com", Room: "demo", Token: "T", After: "01J", JSON: true}) {
		t.Errorf("flags around the room: %+v, %v", c, err)
	}
	if c, err := parseChat([]string{"--room", "r"}, io.Discard); err != nil || c.Room != "r" {
		t.Errorf("--room: %+v, %v", c, err)
	}
	for _, args := range [][]string{{}, {"a", "b"}, {"--room", "a", "b"}, {"--url", "x", "demo"}, {"demo", "--nope"}} {
		var ue usageError
		if _, err := parseChat(args, io.Discard); !errors.As(err, &ue) {
			t.Errorf("parseChat(%q) = %v, want a usage error", args, err)
		}
	}
}

func TestChatPrinter(t *testing.T) {
	var out bytes.Buffer
	p := &chatPrinter{w: &out}
	ts := time.Date(2025, 1, 2, 3, 4, 5, 0, time.Local).UnixMilli()
	alice := &client.Sender{ID: "u1", Name: "alice"}
	for _, e := range []client.Envelope{
		{Type: "chat", From: alice, TS: ts, Body: json.RawMessage(`{"text":"hi"}`)},
		{Type: "danmaku", From: alice, TS: ts, Body: json.RawMessage(`{"text":"fly","color":"#ff0000"}`)},
		{Type: "like", TS: ts, Body: json.RawMessage(`{"count":4}`)},
		{Type: "presence", TS: ts, Body: json.RawMessage(`{"viewers":7}`)},
		{Type: "presence", TS: ts, Body: json.RawMessage(`{"viewers":7}`)}, // unchanged: not shown
		{Type: "system", TS: ts, Body: json.RawMessage(`{"event":"cohost_joined","identity":"bob"}`)},
		{Type: "system", Body: json.RawMessage(`{"event":"dropped","count":12}`)},
		{Type: "delete", From: alice, TS: ts, Body: json.RawMessage(`{"id":"01J"}`)},
	} {
		p.print(e)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := []string{
		"03:04:05 alice: hi",
		"03:04:05 alice [danmaku]: fly",
		"03:04:05 ♥ ×4",
		"03:04:05 * 7 viewers",
		"03:04:05 * cohost_joined identity=bob",
		"* dropped count=12", // no ts: the time of printing
		`03:04:05 * delete from alice: {"id":"01J"}`,
	}
	if len(lines) != len(want) {
		t.Fatalf("printed:\n%s", out.String())
	}
	for i := range want {
		if !strings.HasSuffix(lines[i], want[i]) {
			t.Errorf("line %d = %q, want %q", i, lines[i], want[i])
		}
	}

	out.Reset()
	p = &chatPrinter{w: &out, json: true}
	p.print(client.Envelope{V: 1, Type: "chat", ID: "01J", From: alice, TS: ts, Body: json.RawMessage(`{"text":"hi"}`)})
	var back client.Envelope
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || back.ID != "01J" || string(back.Body) != `{"text":"hi"}` {
		t.Errorf("JSON line %q: %v", out.String(), err)
	}
}

// syncBuffer is a bytes.Buffer safe to read while the command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The interactive chat against a real server: typed lines are sent and come
// back, refusals are shown, the end of input waits for the answers; a
// read-only session shows the history until interrupted.
func TestChatCommand(t *testing.T) {
	base := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice, err := client.Signup(ctx, client.Options{BaseURL: base}, "alice", "alice-password")
	if err != nil {
		t.Fatal(err)
	}

	// Seven messages at once: the server's limit (burst 5) refuses some.
	input := "hello\n/danmaku fly\n/like 2\n/bogus\n3\n4\n5\n6\n7\n"
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"chat", "--url", base, "--token", alice.Token, "lounge"}, strings.NewReader(input), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	for _, want := range []string{"alice: hello\n", "alice [danmaku]: fly\n", "alice: 3\n", "alice: 5\n"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	for _, want := range []string{"chatting in lounge as alice", "unknown command /bogus", "! slow_down: "} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if strings.Contains(stdout.String(), "alice: 7\n") {
		t.Errorf("the 7th message got through the rate limit:\n%s", stdout.String())
	}

	// Read-only: the history, then nothing is sent; stops when interrupted.
	rctx, stop := context.WithCancel(ctx)
	stdin, w := io.Pipe()
	defer w.Close()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(rctx, []string{"chat", "--url", base, "lounge"}, stdin, &out, &errOut) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "alice: 5\n") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := io.WriteString(w, "anyone?\n"); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(errOut.String(), "give --token") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if code := <-done; code != exitOK {
		t.Errorf("read-only exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "alice: hello\n") || !strings.Contains(errOut.String(), "read-only: give --token to send") {
		t.Errorf("read-only session:\n%s\n%s", out.String(), errOut.String())
	}

	code = run(ctx, []string{"chat", "--url", base, "--token", "not-a-token", "lounge"}, strings.NewReader(""), &stdout, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), "--token: onair: HTTP 401") {
		t.Errorf("a bad token: exit %d, %s", code, stderr.String())
	}
}
