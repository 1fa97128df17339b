package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"

	"github.com/onair-live/onair/account"
	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/gift"
	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/room/hub"
	"github.com/onair-live/onair/sfu"
	"github.com/onair-live/onair/store"
)

// Interaction is the room plane as the edge sees it: post a message, receive a
// room's messages, read its history.
type Interaction interface {
	Post(ctx context.Context, id room.ID, from *room.Sender, in room.Inbound) (room.Envelope, error)
	Delete(ctx context.Context, id room.ID, by *room.Sender, messageID string) (room.Envelope, error)
	Join(id room.ID, session string, sink hub.Sink, onGone func(error)) (leave func(), err error)
	History(ctx context.Context, id room.ID, after string) ([][]byte, error)
}

// maxInbound caps one client frame: a message body is small (200 characters).
const maxInbound = 4 << 10

// wsSink is a WebSocket as the hub's sink: it writes a batch as one text frame
// holding a JSON array of envelopes (every frame a client receives is such an
// array), the batch's own frame, encoded once for the whole room.
//
// The hub calls it with the session's context, the same in every call and
// never concurrently. wsSink watches that context once: when it is done while a
// write is in flight (Leave, Close, the hub's write watchdog), it closes the
// connection, which ends the write. So conn.Write gets no context to watch,
// and sets up no watch of its own for every frame. Frames of a session's own
// go through wsReply.
type wsSink struct {
	conn    *websocket.Conn
	watched bool // the session's context is watched
	writing atomic.Bool
}

func (w *wsSink) WriteBatch(ctx context.Context, b hub.Batch) error {
	if !w.watched {
		w.watched = true
		context.AfterFunc(ctx, func() {
			if w.writing.Load() {
				_ = w.conn.CloseNow()
			}
		})
	}
	w.writing.Store(true)
	defer w.writing.Store(false)
	if err := ctx.Err(); err != nil { // after the store: a later cancel finds the write in flight
		return err
	}
	return w.conn.Write(context.Background(), websocket.MessageText, b.Frame())
}

// wsReply writes frames of a session's own (its history, refusals) with the
// caller's context.
type wsReply struct{ conn *websocket.Conn }

func (w wsReply) WriteBatch(ctx context.Context, b hub.Batch) error {
	return w.conn.Write(ctx, websocket.MessageText, b.Frame())
}

// Close codes of room and user sockets, for clients to act on (README, "Room
// messages"); 1001 going away means the server is shutting down: reconnect.
const (
	// closeKicked: a moderator removed the user, or a ban: do not reconnect.
	closeKicked websocket.StatusCode = 4001
	// closeTooSlow: the socket fell behind its room and was cut off: reconnect
	// with ?after= the last id received.
	closeTooSlow websocket.StatusCode = 4002
)

// kickedReason is the close reason of a kick or a ban.
const kickedReason = "removed from the room by a moderator"

// closeFor is the close frame for a session the hub ended.
func closeFor(reason error) (websocket.StatusCode, string) {
	switch {
	case errors.Is(reason, hub.ErrSlowConsumer):
		return closeTooSlow, "too slow: fell behind the room; reconnect with ?after= the last id received"
	case errors.Is(reason, hub.ErrClosed):
		return websocket.StatusGoingAway, "the server is shutting down; reconnect"
	}
	return websocket.StatusInternalError, truncateReason(humanize(reason))
}

// errorCodes name the refusals a sender sees on its own channel.
var errorCodes = []struct {
	err  error
	code string
}{
	{room.ErrNotAllowed, "login_required"},
	{room.ErrUnknownType, "unknown_type"},
	{room.ErrBadMessage, "bad_message"},
	{room.ErrEmpty, "empty"},
	{room.ErrTooLong, "too_long"},
	{room.ErrSlowDown, "slow_down"},
	{room.ErrDuplicate, "duplicate"},
	{room.ErrBlockedWord, "blocked_word"},
	{room.ErrHeld, "held_for_review"},
	{room.ErrBannedHere, "banned"},
	{room.ErrFollowers, "followers_only"},
	{room.ErrTooNew, "account_too_new"},
	{economy.ErrInsufficientFunds, "insufficient_funds"},
	{gift.ErrNoSuchGift, "no_such_gift"},
	{gift.ErrBadRequest, "bad_message"},
	{economy.ErrKeyReused, "key_reused"},
	{store.ErrNotFound, "not_found"},
}

func errorEnvelope(id room.ID, err error) []byte {
	code := "internal"
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			code = e.code
			break
		}
	}
	msg := humanize(err)
	if code == "internal" {
		msg = "the message could not be sent; try again"
	}
	out := map[string]any{"code": code, "message": msg}
	var slow *room.SlowDownError
	if errors.As(err, &slow) {
		out["retry_after_ms"] = slow.Wait.Milliseconds()
	}
	body, _ := json.Marshal(out)
	b, _ := json.Marshal(room.Envelope{V: 1, Type: "error", Room: id, TS: time.Now().UnixMilli(), Body: body})
	return b
}

// roomSocket serves GET /ws/rooms/{room}: the room's messages for clients
// without WebRTC. Anyone may read; sending needs a session (Bearer, ?token= or
// the cookie). The first frame is the recent history (after ?after=<id> when a
// client reconnects), then live messages in frames of up to ~50 ms.
func (s *Server) roomSocket(c echo.Context) error {
	id, err := room.ParseID(c.Param("room"))
	if err != nil {
		return writeProblem(c, err)
	}
	var from *room.Sender
	token := bearer(c.Request().Header.Get(echo.HeaderAuthorization))
	if token == "" {
		token = c.QueryParam("token")
	}
	if token == "" {
		if ck, err := c.Cookie(sessionCookie); err == nil {
			token = ck.Value
		}
	}
	if token != "" && s.accounts != nil {
		u, _, err := s.accounts.Verify(c.Request().Context(), token)
		if err != nil {
			return writeProblem(c, err)
		}
		from = &room.Sender{ID: u.ID, Name: u.Name}
		if err := s.bannedFrom(c.Request().Context(), id, u.ID); err != nil {
			return writeProblem(c, err)
		}
	}
	if from == nil && s.records != nil {
		if r, err := s.records.RoomByID(c.Request().Context(), string(id)); err == nil && r.Private {
			return writeProblem(c, fmt.Errorf("%w: no room %q", store.ErrNotFound, id))
		}
	}
	conn, err := websocket.Accept(c.Response(), c.Request(), nil) // same-origin only
	if err != nil {
		return nil // Accept has answered
	}
	conn.SetReadLimit(maxInbound)
	ctx, cancel := context.WithCancel(c.Request().Context())
	defer cancel()
	defer conn.CloseNow()
	if from != nil { // a kick must reach this socket from the moment it exists
		defer s.local.add(id, from.ID, func() {
			_ = conn.Close(closeKicked, kickedReason)
			cancel()
		})()
	}
	sink := &gatedSink{inner: &wsSink{conn: conn}, open: make(chan struct{})}
	reply := wsReply{conn}
	leave, err := s.interaction.Join(id, sfuSessionID(), sink, func(reason error) {
		_ = conn.Close(closeFor(reason))
		cancel()
	})
	if err != nil {
		_ = conn.Close(websocket.StatusTryAgainLater, "the room is unavailable; reconnect")
		return nil
	}
	defer leave()
	s.sendHistory(ctx, id, c.QueryParam("after"), sink, reply)
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return nil
		}
		postInbound(ctx, s.interaction, id, from, data, reply)
	}
}

// sfuSessionID names a chat session like a media session.
func sfuSessionID() string { return sfu.NewSessionID() }

// truncateReason fits a close reason in a control frame (123 bytes).
func truncateReason(s string) string {
	if len(s) > 120 {
		return s[:120]
	}
	return s
}

// roomMessages serves GET /api/rooms/{room}/messages: the recent history, oldest
// first, after ?after=<id> when given.
func (s *Server) roomMessages(c echo.Context) error {
	id, err := room.ParseID(c.Param("room"))
	if err != nil {
		return writeProblem(c, err)
	}
	if s.records != nil && current(c) == nil {
		if r, err := s.records.RoomByID(c.Request().Context(), string(id)); err == nil && r.Private {
			return writeProblem(c, fmt.Errorf("%w: no room %q", store.ErrNotFound, id))
		}
	}
	hist, err := s.interaction.History(c.Request().Context(), id, c.QueryParam("after"))
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSONBlob(http.StatusOK, append(append([]byte(`{"messages":`), hub.NewBatch(hist...).Frame()...), '}'))
}

// deleteMessage serves DELETE /api/rooms/{room}/messages/{id}: the room's
// streamer or an admin removes a message for everyone.
func (s *Server) deleteMessage(c echo.Context) error {
	r, _, err := s.roomRecord(c)
	if err != nil {
		return writeProblem(c, err)
	}
	ok, err := s.canModerate(c, r)
	if err != nil {
		return writeProblem(c, err)
	}
	p := current(c)
	if !ok {
		return writeProblem(c, fmt.Errorf("%w: only the room's streamer, its moderators or an admin may delete messages", account.ErrForbidden))
	}
	if _, err := s.interaction.Delete(c.Request().Context(), room.ID(r.ID), &room.Sender{ID: p.user.ID, Name: p.user.Name}, c.Param("id")); err != nil {
		return writeProblem(c, err)
	}
	if s.moderation != nil {
		s.audit(c, "delete_message", r.ID, c.Param("id"), "")
	}
	return c.NoContent(http.StatusNoContent)
}

// sendHistory writes the room's recent messages through reply, then lets the
// live ones that queued meanwhile through: joining before reading history
// leaves no gap, and the gate drops live messages the history already had.
func (s *Server) sendHistory(ctx context.Context, id room.ID, after string, gate *gatedSink, reply hub.Sink) {
	hist, err := s.interaction.History(ctx, id, after)
	if err != nil {
		s.log.Warn("room history", "room", id, "err", err)
	}
	last := after
	if len(hist) > 0 {
		last = envelopeID(hist[len(hist)-1])
		_ = reply.WriteBatch(ctx, hub.NewBatch(hist...))
	}
	gate.release(last)
}

// gatedSink holds live batches until the history is out, then passes only
// messages newer than the history's last id (ULIDs sort by time). Only the hub
// calls it: it is not safe for concurrent use.
type gatedSink struct {
	inner hub.Sink
	open  chan struct{}
	after string // set before open is closed
}

func (g *gatedSink) release(after string) {
	g.after = after
	close(g.open)
}

func (g *gatedSink) WriteBatch(ctx context.Context, b hub.Batch) error {
	select {
	case <-g.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	if g.after != "" { // right after the history: a frame of this session's own
		msgs := b.Msgs()
		var fresh [][]byte
		for _, m := range msgs {
			if id := envelopeID(m); id == "" || id > g.after {
				fresh = append(fresh, m)
			}
		}
		switch len(fresh) {
		case len(msgs):
			g.after = "" // past the history: no more checks, the room's frames as they are
		case 0:
			return nil
		default:
			b = hub.NewBatch(fresh...)
		}
	}
	return g.inner.WriteBatch(ctx, b)
}

// envelopeID reads just the id of an encoded envelope.
func envelopeID(b []byte) string {
	var e struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(b, &e)
	return e.ID
}
