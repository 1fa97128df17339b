package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/room/hub"
	"github.com/onair-live/onair/sfu"
)

// channelBacklog is how much a viewer's data channel may have waiting before the
// viewer counts as not reading (the hub then drops, and in the end disconnects).
const channelBacklog = 1 << 20

var errChannelBacklog = errors.New("the data channel is not being read")

// dcSink writes a batch as one text frame holding a JSON array of envelopes,
// like the WebSocket: the batch's own frame, encoded once for the room.
type dcSink struct{ ch sfu.Channel }

func (d dcSink) WriteBatch(_ context.Context, b hub.Batch) error {
	if d.ch.Buffered() > channelBacklog {
		return errChannelBacklog
	}
	return d.ch.Send(b.Frame())
}

// sender resolves who a WHEP request is from, for chat on its data channel: the
// session token (Bearer, then cookie); nil for anonymous viewers, who only read.
func (r *resource) sender(c echo.Context, token string) *room.Sender {
	if r.accounts == nil {
		return nil
	}
	ctx := c.Request().Context()
	if token != "" {
		if u, _, err := r.accounts.Verify(ctx, token); err == nil {
			return &room.Sender{ID: u.ID, Name: u.Name}
		}
	}
	if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
		if u, _, err := r.accounts.Verify(ctx, ck.Value); err == nil {
			return &room.Sender{ID: u.ID, Name: u.Name}
		}
	}
	return nil
}

// attachChannel puts a media session's `room` data channel into the room plane,
// the same way as a WebSocket: history first, then live frames; what the client
// sends is posted as from.
func (r *resource) attachChannel(sess *sfu.Session, id room.ID, from *room.Sender) {
	sess.OnChannel(func(ch sfu.Channel) {
		ctx, cancel := context.WithCancel(context.Background())
		sink := &gatedSink{inner: dcSink{ch}, open: make(chan struct{})}
		leave, err := r.interaction.Join(id, sess.ID, sink, func(error) { _ = ch.Close() })
		if err != nil {
			cancel()
			_ = ch.Close()
			return
		}
		last := ""
		if hist, err := r.interaction.History(ctx, id, ""); err == nil && len(hist) > 0 {
			last = envelopeID(hist[len(hist)-1])
			_ = sink.inner.WriteBatch(ctx, hub.NewBatch(hist...))
		}
		sink.release(last)
		ch.OnMessage(func(data []byte) { postInbound(ctx, r.interaction, id, from, data, sink.inner) })
		if sess.Role == sfu.RolePublisher {
			// Which simulcast layers viewers can take now: the studio pauses the rest.
			sess.OnLayers(func(active map[string]bool) { _ = ch.Send(layersEnvelope(id, active)) })
		}
		go func() {
			<-sess.Done()
			cancel()
			leave()
		}()
	})
}

// postInbound posts one client frame from either transport; a refusal goes back
// to the sender's own channel only.
func postInbound(ctx context.Context, ia Interaction, id room.ID, from *room.Sender, data []byte, reply hub.Sink) {
	var in room.Inbound
	err := json.Unmarshal(data, &in)
	if err != nil {
		err = fmt.Errorf(`%w: send {"type":"chat","body":{"text":"..."}}`, room.ErrBadMessage)
	} else {
		_, err = ia.Post(ctx, id, from, in)
	}
	if err != nil {
		_ = reply.WriteBatch(ctx, hub.NewBatch(errorEnvelope(id, err)))
	}
}

// layersEnvelope tells a simulcast publisher which of its layers (by RID)
// viewers can take now: {"type":"layers","body":{"active":{"q":true,...}}}.
func layersEnvelope(id room.ID, active map[string]bool) []byte {
	body, _ := json.Marshal(map[string]any{"active": active})
	b, _ := json.Marshal(room.Envelope{V: 1, Type: "layers", Room: id, TS: time.Now().UnixMilli(), Body: body})
	return b
}
