package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	client "github.com/onair-live/onair/clients/go"
)

// chatConfig is the command line of "onairctl chat".
type chatConfig struct {
	URL   string
	Room  string
	Token string
	After string
	JSON  bool
}

func parseChat(args []string, stderr io.Writer) (chatConfig, error) {
	var c chatConfig
	fs := flag.NewFlagSet("onairctl chat", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: onairctl chat [flags] ROOM

Prints the room's messages and sends each line typed as a chat message:
  /danmaku TEXT   a danmaku instead
  /like [N]       N likes (default 1)
  /quit           leave (so does the end of the input)

`)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.URL, "url", defaultURL, "the onair server's base URL")
	fs.StringVar(&c.Room, "room", "", "the room id (or give it as the argument)")
	fs.StringVar(&c.Token, "token", "", "a session token, sent as Bearer; without one the chat is read-only")
	fs.StringVar(&c.After, "after", "", "start after this message id instead of with the recent history")
	fs.BoolVar(&c.JSON, "json", false, "print every envelope as one JSON line")
	pos, err := parseInterleaved(fs, args, stderr)
	if err != nil {
		return c, err
	}
	switch {
	case len(pos) > 1 || len(pos) == 1 && c.Room != "":
		return c, usagef("unexpected argument %q", pos[len(pos)-1])
	case len(pos) == 1:
		c.Room = pos[0]
	case c.Room == "":
		return c, usagef("the room is required: onairctl chat ROOM")
	}
	return c, checkURL("--url", c.URL)
}

// parseInterleaved parses flags given before, between and after positional
// arguments, which it returns.
func parseInterleaved(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args, stderr); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// answerWait bounds how long chat waits, once its input has ended, for the
// server to answer the messages it sent.
const answerWait = 5 * time.Second

// chatSession is the interactive chat: one goroutine reads the socket and
// reconnects it; the caller's goroutine sends what is typed.
type chatSession struct {
	o      client.Options
	me     client.User // zero when read-only
	out    *chatPrinter
	stderr io.Writer

	mu   sync.Mutex // guards conn, replaced on reconnect
	conn *client.Chat

	sent     atomic.Int64 // chat and danmaku lines sent
	answered atomic.Int64 // of those, echoed back or refused
	answer   chan struct{}
}

func runChat(ctx context.Context, c chatConfig, stdin io.Reader, stdout, stderr io.Writer) error {
	o := client.Options{BaseURL: c.URL, Room: c.Room, Token: c.Token}
	s := &chatSession{o: o, out: &chatPrinter{w: stdout, json: c.JSON}, stderr: stderr, answer: make(chan struct{}, 1)}
	if c.Token != "" {
		me, err := client.Me(ctx, o)
		if err != nil {
			return fmt.Errorf("--token: %w", err)
		}
		s.me = me
		fmt.Fprintf(stderr, "chatting in %s as %s\n", c.Room, me.Name)
	} else {
		fmt.Fprintf(stderr, "reading %s (read-only: --token to send)\n", c.Room)
	}
	conn, err := client.DialChat(ctx, o, c.After)
	if err != nil {
		return err
	}
	s.conn = conn
	defer func() { _ = s.current().Close() }()

	received := make(chan error, 1)
	go func() { received <- s.receive(ctx) }()
	lines := make(chan string)
	go readLines(stdin, lines)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-received:
			return err
		case line, ok := <-lines:
			if !ok || strings.TrimSpace(line) == "/quit" {
				s.waitAnswers(ctx, received)
				return nil
			}
			if err := s.send(ctx, line); err != nil {
				fmt.Fprintf(stderr, "! %v\n", err)
			}
		}
	}
}

// readLines sends stdin's lines to lines and closes it at the end of input.
func readLines(r io.Reader, lines chan<- string) {
	defer close(lines)
	if r == nil {
		return
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		lines <- sc.Text()
	}
}

func (s *chatSession) current() *client.Chat {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}

// send posts one typed line.
func (s *chatSession) send(ctx context.Context, line string) error {
	line = strings.TrimSpace(line)
	if line == "" {
		return nil
	}
	if s.me.ID == "" {
		return errors.New("read-only: give --token to send")
	}
	conn := s.current()
	cmd, arg, _ := strings.Cut(line, " ")
	switch cmd {
	case "/like":
		n := 1
		if arg != "" {
			var err error
			if n, err = strconv.Atoi(arg); err != nil || n < 1 {
				return fmt.Errorf("/like %q: want a positive count", arg)
			}
		}
		return conn.SendLike(ctx, n)
	case "/danmaku":
		s.sent.Add(1)
		return conn.SendDanmaku(ctx, arg, "", "")
	}
	if strings.HasPrefix(cmd, "/") {
		return fmt.Errorf("unknown command %s: /danmaku TEXT, /like [N] or /quit", cmd)
	}
	s.sent.Add(1)
	return conn.SendChat(ctx, line)
}

// waitAnswers waits until every line sent has come back or been refused, the
// socket has ended, or answerWait has passed.
func (s *chatSession) waitAnswers(ctx context.Context, received <-chan error) {
	t := time.NewTimer(answerWait)
	defer t.Stop()
	for s.answered.Load() < s.sent.Load() {
		select {
		case <-s.answer:
		case <-received:
			return
		case <-t.C:
			fmt.Fprintf(s.stderr, "! %d messages not answered in %v\n", s.sent.Load()-s.answered.Load(), answerWait)
			return
		case <-ctx.Done():
			return
		}
	}
}

func (s *chatSession) answered1() {
	s.answered.Add(1)
	select {
	case s.answer <- struct{}{}:
	default:
	}
}

// receive prints the room's messages until ctx ends or the server closes the
// socket for good (a kick, a ban); a lost connection, a server going away or a
// session cut off for being too slow is dialled again after the last message
// seen.
func (s *chatSession) receive(ctx context.Context) error {
	conn := s.current()
	for {
		e, err := conn.Next(ctx)
		var re *client.RoomError
		switch {
		case err == nil:
			s.out.print(e)
			if (e.Type == "chat" || e.Type == "danmaku") && e.From != nil && e.From.ID == s.me.ID {
				s.answered1()
			}
		case errors.As(err, &re):
			fmt.Fprintf(s.stderr, "! %s: %s\n", re.Code, re.Message)
			s.answered1()
		case ctx.Err() != nil:
			return nil
		default:
			if !client.Reconnect(err) { // kicked or banned
				_, reason := client.CloseReason(err)
				return fmt.Errorf("the server closed the chat: %s", reason)
			}
			fmt.Fprintf(s.stderr, "! connection lost (%v); reconnecting\n", err)
			if conn, err = s.redial(ctx, conn.LastID()); err != nil {
				return err
			}
		}
	}
}

// redial connects again after the message with id after, backing off from
// 0.5 s to 5 s, for up to a minute.
func (s *chatSession) redial(ctx context.Context, after string) (*client.Chat, error) {
	deadline := time.Now().Add(time.Minute)
	wait := 500 * time.Millisecond
	for {
		if !sleepCtx(ctx, wait) {
			return nil, ctx.Err()
		}
		conn, err := client.DialChat(ctx, s.o, after)
		if err == nil {
			s.mu.Lock()
			s.conn = conn
			s.mu.Unlock()
			fmt.Fprintln(s.stderr, "! reconnected")
			return conn, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("reconnecting: %w", err)
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// chatPrinter shows envelopes one per line: readable, or as JSON.
type chatPrinter struct {
	w       io.Writer
	json    bool
	viewers int
}

func (p *chatPrinter) print(e client.Envelope) {
	if p.json {
		b, _ := json.Marshal(e)
		fmt.Fprintf(p.w, "%s\n", b)
		return
	}
	t := time.Now()
	if e.TS > 0 {
		t = time.UnixMilli(e.TS)
	}
	at := t.Format("15:04:05")
	from := "?"
	if e.From != nil {
		from = e.From.Name
	}
	switch e.Type {
	case "chat", "danmaku":
		var b client.ChatBody
		_ = json.Unmarshal(e.Body, &b)
		tag := ""
		if e.Type == "danmaku" {
			tag = " [danmaku]"
		}
		fmt.Fprintf(p.w, "%s %s%s: %s\n", at, from, tag, b.Text)
	case "like":
		var b client.LikeBody
		_ = json.Unmarshal(e.Body, &b)
		fmt.Fprintf(p.w, "%s ♥ ×%d\n", at, b.Count)
	case "presence":
		var b struct {
			Viewers int `json:"viewers"`
		}
		if json.Unmarshal(e.Body, &b) == nil && b.Viewers != p.viewers {
			p.viewers = b.Viewers
			fmt.Fprintf(p.w, "%s * %d viewers\n", at, b.Viewers)
		}
	case "system":
		var b map[string]any
		_ = json.Unmarshal(e.Body, &b)
		fmt.Fprintf(p.w, "%s * %v", at, b["event"])
		for _, k := range []string{"identity", "count"} {
			if v, ok := b[k]; ok {
				fmt.Fprintf(p.w, " %s=%v", k, v)
			}
		}
		fmt.Fprintln(p.w)
	default:
		fmt.Fprintf(p.w, "%s * %s from %s: %s\n", at, e.Type, from, e.Body)
	}
}
