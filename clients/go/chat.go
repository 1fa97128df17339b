package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/coder/websocket"
)

// Envelope is a room message as the server sends it (DESIGN.md): the server
// assigns ID (a ULID, so ids sort by time) and TS (Unix milliseconds). It is
// the client's own copy of the shape; clients/go does not import the server.
type Envelope struct {
	V    int             `json:"v"`
	Type string          `json:"type"` // chat, danmaku, like, gift, system, presence, delete, error, ...
	ID   string          `json:"id,omitempty"`
	Room string          `json:"room,omitempty"`
	From *Sender         `json:"from,omitempty"`
	TS   int64           `json:"ts,omitempty"`
	Body json.RawMessage `json:"body"`
}

// Sender is who a message is from; nil for the system.
type Sender struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ChatBody is the body of chat and danmaku messages.
type ChatBody struct {
	Text     string `json:"text"`
	Color    string `json:"color,omitempty"`    // danmaku: #rrggbb
	Position string `json:"position,omitempty"` // danmaku: scroll, top, bottom
}

// LikeBody is the body of like messages.
type LikeBody struct {
	Count int `json:"count"`
}

// RoomError is a refusal the server sent on this connection as an error
// envelope ({"type":"error","body":{"code","message"}}): the message it answers
// was not posted. The connection stays usable.
type RoomError struct {
	Code    string `json:"code"` // slow_down, duplicate, too_long, login_required, ...
	Message string `json:"message"`
	// RetryAfterMS, when not 0, is how long to wait before sending again.
	RetryAfterMS int64 `json:"retry_after_ms,omitempty"`
}

func (e *RoomError) Error() string { return "onair: " + e.Code + ": " + e.Message }

// ErrBadFrame is returned for a frame that is not a JSON array of envelopes.
var ErrBadFrame = errors.New("onair: bad frame: want a JSON array of envelopes")

// maxChatFrame bounds one frame from the server: a history frame holds up to 50
// envelopes, a live one a batch of up to 65.
const maxChatFrame = 1 << 20

// Chat is one WebSocket session in a room (GET /ws/rooms/{room}). Reading
// methods (ReadFrame, Read, Next) must be called from one goroutine at a time;
// Send may be called from any goroutine, also while another reads.
type Chat struct {
	conn *websocket.Conn

	// Owned by the reader.
	pending []Envelope // decoded by Next, not yet returned
	last    string     // id of the newest envelope returned by Read or Next

	mu     sync.Mutex // guards lastID, the copy of last for other goroutines
	lastID string
}

// ChatURL returns the WebSocket URL of a room's chat: ws(s)://host/ws/rooms/{room},
// with ?after= when after is not empty.
func ChatURL(baseURL, room, after string) (string, error) {
	if room == "" {
		return "", errors.New("onair: the room is empty")
	}
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", errors.New("onair: the base URL must be an http or https URL")
	}
	u = u.JoinPath("ws", "rooms", room)
	if after != "" {
		u.RawQuery = url.Values{"after": {after}}.Encode()
	}
	return u.String(), nil
}

// DialChat joins o.Room's chat. o.Token, when set, is sent as a Bearer token:
// it is needed to send, not to read. The first frame is the room's recent
// history, after the message with id after when after is not empty (a
// reconnecting client passes LastID), then live messages in batches. A refused
// handshake returns *HTTPError with the server's problem detail.
func DialChat(ctx context.Context, o Options, after string) (*Chat, error) {
	u, err := ChatURL(o.BaseURL, o.Room, after)
	if err != nil {
		return nil, err
	}
	opts := &websocket.DialOptions{HTTPClient: o.HTTPClient}
	if o.Token != "" {
		opts.HTTPHeader = http.Header{"Authorization": {"Bearer " + o.Token}}
	}
	conn, resp, err := websocket.Dial(ctx, u, opts)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			defer resp.Body.Close()
			return nil, newHTTPError(resp)
		}
		return nil, fmt.Errorf("onair: dial %s: %w", u, err)
	}
	conn.SetReadLimit(maxChatFrame)
	return &Chat{conn: conn, last: after, lastID: after}, nil
}

// Send posts one message: {"type": typ, "body": body}. The server answers a
// refusal with an error envelope, which Next and Read return as *RoomError; an
// accepted message comes back to every session of the room, this one included.
func (c *Chat) Send(ctx context.Context, typ string, body any) error {
	b, err := json.Marshal(struct {
		Type string `json:"type"`
		Body any    `json:"body"`
	}{typ, body})
	if err != nil {
		return err
	}
	return c.conn.Write(ctx, websocket.MessageText, b)
}

// SendChat posts a chat line.
func (c *Chat) SendChat(ctx context.Context, text string) error {
	return c.Send(ctx, "chat", ChatBody{Text: text})
}

// SendDanmaku posts a danmaku (a comment flying over the video); color
// (#rrggbb) and position (scroll, top, bottom) may be empty.
func (c *Chat) SendDanmaku(ctx context.Context, text, color, position string) error {
	return c.Send(ctx, "danmaku", ChatBody{Text: text, Color: color, Position: position})
}

// SendLike sends count likes.
func (c *Chat) SendLike(ctx context.Context, count int) error {
	return c.Send(ctx, "like", LikeBody{Count: count})
}

// ReadFrame reads the next frame, a JSON array of envelopes, into buf (grown
// as needed) and returns it undecoded: for load tools that look for a few
// bytes instead of decoding every envelope. It does not update LastID.
func (c *Chat) ReadFrame(ctx context.Context, buf []byte) ([]byte, error) {
	_, r, err := c.conn.Reader(ctx)
	if err != nil {
		return buf[:0], err
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// Read returns the next batch: the envelopes Next has not returned yet, or
// else the next frame, decoded. Error envelopes are taken out of the batch; the
// first one is returned as *RoomError along with the rest.
func (c *Chat) Read(ctx context.Context) ([]Envelope, error) {
	batch := c.pending
	c.pending = nil
	if len(batch) == 0 {
		frame, err := c.ReadFrame(ctx, nil)
		if err != nil {
			return nil, err
		}
		if batch, err = DecodeFrame(frame); err != nil {
			return nil, err
		}
	}
	var roomErr error
	kept := batch[:0]
	for _, e := range batch {
		if e.Type != "error" {
			kept = append(kept, e)
		} else if roomErr == nil {
			roomErr = decodeRoomError(e)
		}
	}
	c.seen(kept)
	return kept, roomErr
}

// Next returns the next envelope, reading a frame when none is buffered. An
// error envelope is returned with a *RoomError; the session goes on.
func (c *Chat) Next(ctx context.Context) (Envelope, error) {
	for len(c.pending) == 0 {
		frame, err := c.ReadFrame(ctx, nil)
		if err != nil {
			return Envelope{}, err
		}
		if c.pending, err = DecodeFrame(frame); err != nil {
			return Envelope{}, err
		}
	}
	e := c.pending[0]
	c.pending = c.pending[1:]
	if e.Type == "error" {
		return e, decodeRoomError(e)
	}
	c.seen([]Envelope{e})
	return e, nil
}

// seen records the newest id of envelopes handed to the caller.
func (c *Chat) seen(batch []Envelope) {
	for _, e := range batch {
		if e.ID > c.last { // ULIDs sort by time
			c.last = e.ID
		}
	}
	c.mu.Lock()
	c.lastID = c.last
	c.mu.Unlock()
}

// LastID returns the id of the newest message Read or Next returned: pass it
// to DialChat to resume after a lost connection without gap or repeat (within
// the history the server keeps).
func (c *Chat) LastID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastID
}

// Close ends the session with a normal closure.
func (c *Chat) Close() error {
	err := c.conn.Close(websocket.StatusNormalClosure, "")
	if err != nil && websocket.CloseStatus(err) == websocket.StatusNormalClosure {
		return nil
	}
	return err
}

// CloseNow drops the connection without the closing handshake.
func (c *Chat) CloseNow() error { return c.conn.CloseNow() }

// CloseReason returns the status and reason of the server's close frame in a
// read error (a moderator's kick, say), or -1 and "" when err is no close.
func CloseReason(err error) (websocket.StatusCode, string) {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code, ce.Reason
	}
	return -1, ""
}

// Close codes the server ends a chat with, besides the standard ones
// (1001 going away: the server is shutting down).
const (
	// CloseKicked: a moderator removed the user from the room, or a ban. Do not
	// reconnect.
	CloseKicked websocket.StatusCode = 4001
	// CloseTooSlow: the connection fell behind the room (messages were dropped
	// for it) and was cut off. Reconnect after LastID.
	CloseTooSlow websocket.StatusCode = 4002
)

// Reconnect tells whether a chat whose reading ended with err should be dialled
// again, after LastID: yes when the connection was lost or the server asks for
// it (CloseTooSlow; 1001 going away; 1011, 1012, 1013), no after a kick or ban
// (CloseKicked), a policy violation (1008) or a normal closure.
func Reconnect(err error) bool {
	code, _ := CloseReason(err)
	switch code {
	case CloseKicked, websocket.StatusPolicyViolation, websocket.StatusNormalClosure:
		return false
	}
	return true
}

// DecodeFrame decodes a frame: a JSON array of envelopes.
func DecodeFrame(frame []byte) ([]Envelope, error) {
	frame = bytes.TrimSpace(frame)
	if len(frame) == 0 || frame[0] != '[' {
		return nil, ErrBadFrame
	}
	var batch []Envelope
	if err := json.Unmarshal(frame, &batch); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadFrame, err)
	}
	return batch, nil
}

func decodeRoomError(e Envelope) *RoomError {
	re := &RoomError{}
	if json.Unmarshal(e.Body, re) != nil || re.Code == "" {
		re.Code = "unknown"
	}
	return re
}
