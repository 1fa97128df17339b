package room

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/onair-live/onair/room/filter"
)

// Errors a sender sees on their own channel; nobody else is affected.
var (
	ErrUnknownType = errors.New("room: unknown message type")
	ErrBadMessage  = errors.New("room: malformed message")
	ErrEmpty       = errors.New("room: the message is empty")
	ErrTooLong     = errors.New("room: the message is too long")
	ErrSlowDown    = errors.New("room: you are sending too fast")
	ErrDuplicate   = errors.New("room: you just sent that")
	ErrNotAllowed  = errors.New("room: log in to chat")
	ErrBlockedWord = errors.New("room: the message contains a word that is not allowed here")
	ErrHeld        = errors.New("room: the message is held for a moderator to review")
	ErrBannedHere  = errors.New("room: you may not chat in this room")
	ErrFollowers   = errors.New("room: this room's chat is for followers; follow to chat")
	ErrTooNew      = errors.New("room: your account is too new to chat here")
)

// SlowDownError refuses a message sent too soon; it wraps ErrSlowDown and
// says when the sender may try again.
type SlowDownError struct {
	Wait time.Duration
	Why  string // what limit it was, if more than the rate limit
}

func (e *SlowDownError) Error() string {
	if e.Why != "" {
		return fmt.Sprintf("%s: %s; wait %.0f s", ErrSlowDown, e.Why, math.Ceil(e.Wait.Seconds()))
	}
	return fmt.Sprintf("%s: wait %.1f s", ErrSlowDown, e.Wait.Seconds())
}

func (e *SlowDownError) Unwrap() error { return ErrSlowDown }

// ChatRules are a room's rules for one user, as the streamer set them.
type ChatRules struct {
	Staff         bool // the streamer, a moderator or an admin: rules do not apply
	SlowSeconds   int
	FollowersOnly bool
	Following     bool
	MinAge        time.Duration
	AccountAge    time.Duration
}

// Rules looks up a room's chat rules for a user.
type Rules interface {
	ChatRules(ctx context.Context, room ID, userID string) (ChatRules, error)
}

// Restrictions says whether a user may chat in a room now (room bans and
// timeouts); the system of record keeps them.
type Restrictions interface {
	Restricted(ctx context.Context, room ID, userID string) (until time.Time, reason string, restricted bool, err error)
}

// Review keeps the messages the word filter holds until a moderator approves
// (then [Chat.Release] publishes them) or rejects them.
type Review interface {
	Hold(ctx context.Context, id ID, from Sender, kind string, body ChatBody) error
}

// GiftPoster sends a gift a user posted on a room's channel: the `gift`
// event reaches the room from the economy once the money has moved, so Post
// returns no envelope for it.
type GiftPoster interface {
	PostGift(ctx context.Context, id ID, from Sender, body json.RawMessage) error
}

// ChatConfig limits what one user may post in a room. Zero values mean defaults.
type ChatConfig struct {
	MaxRunes  int     `yaml:"max_runes"`  // default 200
	PerSecond float64 `yaml:"per_second"` // default 1
	Burst     int     `yaml:"burst"`      // default 5
	// DuplicateWindow refuses the same text from the same user within it.
	DuplicateWindow time.Duration `yaml:"duplicate_window"` // default 10 s
}

func (c ChatConfig) withDefaults() ChatConfig {
	if c.MaxRunes == 0 {
		c.MaxRunes = 200
	}
	if c.PerSecond == 0 {
		c.PerSecond = 1
	}
	if c.Burst == 0 {
		c.Burst = 5
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = 10 * time.Second
	}
	return c
}

// Inbound is what a client sends: only a type and a body (DESIGN.md); unknown
// fields are ignored.
type Inbound struct {
	Type string          `json:"type"`
	Body json.RawMessage `json:"body"`
}

// ChatBody is the body of `chat` and `danmaku` messages.
type ChatBody struct {
	Text string `json:"text"`
	// Danmaku display options; the server keeps only known values.
	Color    string `json:"color,omitempty"`
	Position string `json:"position,omitempty"` // scroll, top, bottom
}

// Chat validates, limits and publishes room messages. Delivery to sessions is the
// hub's; history is the bus's stream.
type Chat struct {
	Bus     Bus
	Limiter Limiter
	Config  ChatConfig
	Now     func() time.Time
	// Likes, when set, takes `like` messages.
	Likes *Likes
	// Restrictions, when set, refuses banned and timed-out users.
	Restrictions Restrictions
	// Rules, when set, applies the room's slow mode, followers-only and
	// minimum account age to chat and danmaku.
	Rules Rules
	// Review, when set, keeps held messages for moderators; without it they
	// are only refused.
	Review Review
	// Clips, when set, takes `voice` messages (see voice.go).
	Clips Clips
	// Gifts, when set, takes `gift` messages.
	Gifts GiftPoster

	words atomic.Pointer[filter.Filter]

	mu        sync.Mutex
	last      map[string]recent // user+room → their last text, for duplicate suppression
	lastSweep time.Time
}

type recent struct {
	text string
	at   time.Time
}

// Post turns a client's message into an envelope from sender and publishes it on
// the room's subject. from is nil for anonymous sessions, which may only read.
func (c *Chat) Post(ctx context.Context, id ID, from *Sender, in Inbound) (Envelope, error) {
	cfg := c.Config.withDefaults()
	if from == nil {
		return Envelope{}, ErrNotAllowed
	}
	// Every frame costs a token before any lookup, so a flood costs the
	// server nothing but this.
	if c.Limiter != nil && in.Type != "like" && in.Type != "gift" { // those two cost coins or have their own limit
		ok, retry, err := c.Limiter.Allow(ctx, "chat:"+string(id)+":"+from.ID, cfg.PerSecond, cfg.Burst)
		if err != nil {
			return Envelope{}, err
		}
		if !ok {
			return Envelope{}, &SlowDownError{Wait: retry}
		}
	}
	if c.Restrictions != nil {
		until, reason, banned, err := c.Restrictions.Restricted(ctx, id, from.ID)
		if err != nil {
			return Envelope{}, err
		}
		if banned {
			if until.IsZero() {
				return Envelope{}, fmt.Errorf("%w: banned (%s)", ErrBannedHere, reason)
			}
			return Envelope{}, fmt.Errorf("%w: timed out for %s more (%s)", ErrBannedHere, time.Until(until).Round(time.Second), reason)
		}
	}
	if in.Type == "like" && c.Likes != nil {
		return Envelope{}, c.Likes.Add(ctx, id, from, in.Body)
	}
	if in.Type == "gift" && c.Gifts != nil {
		// The room sees the gift once the ledger has moved the money.
		return Envelope{}, c.Gifts.PostGift(ctx, id, *from, in.Body)
	}
	if in.Type == "voice" {
		return c.postVoice(ctx, id, from, in.Body)
	}
	if in.Type != "chat" && in.Type != "danmaku" {
		return Envelope{}, fmt.Errorf("%w %q: send chat, danmaku, voice or like", ErrUnknownType, in.Type)
	}
	var body ChatBody
	if err := json.Unmarshal(in.Body, &body); err != nil {
		return Envelope{}, fmt.Errorf("%w: body must be {\"text\": \"...\"}", ErrBadMessage)
	}
	body.Text = strings.TrimSpace(body.Text)
	switch n := utf8.RuneCountInString(body.Text); {
	case n == 0:
		return Envelope{}, ErrEmpty
	case n > cfg.MaxRunes:
		return Envelope{}, fmt.Errorf("%w: %d characters, the limit is %d", ErrTooLong, n, cfg.MaxRunes)
	}
	if !utf8.ValidString(body.Text) {
		return Envelope{}, fmt.Errorf("%w: text is not UTF-8", ErrBadMessage)
	}
	if in.Type == "chat" {
		body.Color, body.Position = "", ""
	} else {
		body.Color, body.Position = danmakuColor(body.Color), danmakuPosition(body.Position)
	}
	if err := c.applyRules(ctx, id, from); err != nil {
		return Envelope{}, err
	}
	if f := c.words.Load(); f != nil {
		switch res := f.Check(body.Text); res.Action {
		case filter.Block:
			return Envelope{}, ErrBlockedWord
		case filter.Review:
			if c.Review != nil {
				if err := c.Review.Hold(ctx, id, *from, in.Type, body); err != nil {
					return Envelope{}, err
				}
			}
			return Envelope{}, ErrHeld
		case filter.Mask:
			body.Text = res.Masked
		}
	}
	t := c.now()
	if c.isDuplicate(string(id)+"\x00"+from.ID, body.Text, t, cfg.DuplicateWindow) {
		return Envelope{}, ErrDuplicate
	}
	b, _ := json.Marshal(body)
	return c.publish(id, in.Type, from, b, t)
}

// Release publishes a held message a moderator approved, as from its sender,
// with the time of release; limits and the word list no longer apply.
func (c *Chat) Release(_ context.Context, id ID, from Sender, kind string, body ChatBody) (Envelope, error) {
	if kind != "chat" && kind != "danmaku" {
		return Envelope{}, fmt.Errorf("%w %q", ErrUnknownType, kind)
	}
	b, _ := json.Marshal(body)
	return c.publish(id, kind, &from, b, c.now())
}

func (c *Chat) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Chat) publish(id ID, kind string, from *Sender, body []byte, t time.Time) (Envelope, error) {
	env := Envelope{V: 1, Type: kind, ID: NewMessageID(t), Room: id, From: from, TS: t.UnixMilli(), Body: body}
	data, _ := json.Marshal(env)
	if err := c.Bus.Publish(Subject(id), data); err != nil {
		return Envelope{}, fmt.Errorf("room: publish: %w", err)
	}
	return env, nil
}

// SetWords swaps in a new word list; messages posted after it returns use it.
func (c *Chat) SetWords(f *filter.Filter) { c.words.Store(f) }

func (c *Chat) isDuplicate(key, text string, now time.Time, window time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.last = map[string]recent{}
	}
	if r, ok := c.last[key]; ok && r.text == text && now.Sub(r.at) < window {
		return true
	}
	if now.Sub(c.lastSweep) >= window { // forget what is past the window, once per window
		c.lastSweep = now
		for k, r := range c.last {
			if now.Sub(r.at) >= window {
				delete(c.last, k)
			}
		}
	}
	c.last[key] = recent{text: text, at: now}
	return false
}

func danmakuColor(c string) string {
	if len(c) == 7 && c[0] == '#' {
		for _, r := range c[1:] {
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return ""
			}
		}
		return strings.ToLower(c)
	}
	return ""
}

func danmakuPosition(p string) string {
	switch p {
	case "top", "bottom":
		return p
	}
	return "scroll"
}

// Delete tells everyone in the room to remove a message: a `delete` envelope
// naming it, on the room's subject (so history replays it too). Who may delete
// is the caller's decision.
func (c *Chat) Delete(ctx context.Context, id ID, by *Sender, messageID string) (Envelope, error) {
	if len(messageID) != 26 {
		return Envelope{}, fmt.Errorf("%w: %q is not a message id", ErrBadMessage, messageID)
	}
	body, _ := json.Marshal(map[string]string{"id": messageID})
	return c.publish(id, "delete", by, body, c.now())
}

func (c *Chat) applyRules(ctx context.Context, id ID, from *Sender) error {
	if c.Rules == nil {
		return nil
	}
	r, err := c.Rules.ChatRules(ctx, id, from.ID)
	if err != nil || r.Staff {
		return err
	}
	if r.FollowersOnly && !r.Following {
		return ErrFollowers
	}
	if r.AccountAge < r.MinAge {
		return fmt.Errorf("%w: accounts younger than %s cannot chat here", ErrTooNew, r.MinAge)
	}
	if r.SlowSeconds > 0 && c.Limiter != nil {
		ok, retry, err := c.Limiter.Allow(ctx, "slow:"+string(id)+":"+from.ID, 1/float64(r.SlowSeconds), 1)
		if err != nil {
			return err
		}
		if !ok {
			return &SlowDownError{Wait: retry, Why: fmt.Sprintf("slow mode is on (one message every %d s)", r.SlowSeconds)}
		}
	}
	return nil
}
