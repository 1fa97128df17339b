package signaling

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"

	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/room/hub"
	"github.com/onair-live/onair/store"
)

// Messages is private messaging as the edge needs it.
type Messages interface {
	Send(ctx context.Context, from, to room.Sender, text string) (room.Envelope, error)
	// SendVoice sends a voice clip from recorded for to (POST /api/voice?to=).
	SendVoice(ctx context.Context, from, to room.Sender, clipID string) (room.Envelope, error)
	JoinUser(userID, session string, sink hub.Sink, onGone func(error)) (leave func(), err error)
	Conversations(ctx context.Context, userID string, limit int) ([]store.Conversation, error)
	DMHistory(ctx context.Context, userID, otherID, before string, limit int) ([]store.DM, string, error)
	MarkRead(ctx context.Context, userID, otherID string) error
	// NotifyRead tells both users' sessions that reader read other's messages.
	NotifyRead(ctx context.Context, reader, other room.Sender) error
	SetBlocked(ctx context.Context, blockerID, blockedID string, on bool) error
	IsBlocked(ctx context.Context, blockerID, blockedID string) (bool, error)
	BlockedBy(ctx context.Context, blockerID string) (map[string]bool, error)
}

type dmJSON struct {
	ID   string     `json:"id"`
	At   time.Time  `json:"at"`
	From personJSON `json:"from"`
	To   personJSON `json:"to"`
	Text string     `json:"text"`
	Read bool       `json:"read"`
	// Voice is set for a voice message (Text is then empty).
	Voice *room.VoiceBody `json:"voice,omitempty"`
}

func (s *Server) sendDM(c echo.Context) error {
	var in struct {
		Text  string `json:"text"`
		Voice *struct {
			ID string `json:"id"`
		} `json:"voice"` // a clip uploaded with POST /api/voice?to=<name>, instead of text
	}
	if err := bindJSON(c, &in); err != nil {
		return writeProblem(c, err)
	}
	to, err := s.records.UserByName(c.Request().Context(), c.Param("name"))
	if err != nil {
		return writeProblem(c, err)
	}
	me := current(c).user
	if to.ID == me.ID {
		return writeProblem(c, fmt.Errorf("%w: you cannot message yourself", ErrBadRequest))
	}
	from, dest := room.Sender{ID: me.ID, Name: me.Name}, room.Sender{ID: to.ID, Name: to.Name}
	var env room.Envelope
	switch {
	case in.Voice != nil && in.Text != "":
		return writeProblem(c, fmt.Errorf("%w: send text or a voice clip, not both", ErrBadRequest))
	case in.Voice != nil:
		env, err = s.messages.SendVoice(c.Request().Context(), from, dest, in.Voice.ID)
	default:
		env, err = s.messages.Send(c.Request().Context(), from, dest, in.Text)
	}
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusCreated, env)
}

func (s *Server) conversations(c echo.Context) error {
	ctx := c.Request().Context()
	me := current(c).user
	convs, err := s.messages.Conversations(ctx, me.ID, 100)
	if err != nil {
		return writeProblem(c, err)
	}
	ids := make([]string, 0, len(convs))
	for _, cv := range convs {
		ids = append(ids, cv.OtherID)
	}
	users, err := s.records.UsersByID(ctx, ids)
	if err != nil {
		return writeProblem(c, err)
	}
	blocked, err := s.messages.BlockedBy(ctx, me.ID)
	if err != nil {
		return writeProblem(c, err)
	}
	type convJSON struct {
		With    personJSON `json:"with"`
		Last    dmJSON     `json:"last"`
		Unread  int        `json:"unread"`
		Blocked bool       `json:"blocked"` // I block them
	}
	out := make([]convJSON, 0, len(convs))
	for _, cv := range convs {
		other := users[cv.OtherID]
		out = append(out, convJSON{With: person(other), Last: s.dmView(cv.Last, me, other), Unread: cv.Unread, Blocked: blocked[cv.OtherID]})
	}
	return c.JSON(http.StatusOK, map[string]any{"conversations": out})
}

func person(u store.User) personJSON {
	return personJSON{Name: u.Name, DisplayName: cmp.Or(u.DisplayName, u.Name)}
}

func (s *Server) dmView(m store.DM, me, other store.User) dmJSON {
	from, to := person(me), person(other)
	if m.FromID != me.ID {
		from, to = to, from
	}
	text, voice := room.DecodeDM(m.Body)
	return dmJSON{ID: m.ID, At: m.At, From: from, To: to, Text: text, Read: m.Read, Voice: voice}
}

func (s *Server) dmHistory(c echo.Context) error {
	ctx := c.Request().Context()
	other, err := s.records.UserByName(ctx, c.Param("name"))
	if err != nil {
		return writeProblem(c, err)
	}
	me := current(c).user
	page, next, err := s.messages.DMHistory(ctx, me.ID, other.ID, c.QueryParam("before"), 50)
	if err != nil {
		return writeProblem(c, err)
	}
	blocked, err := s.messages.IsBlocked(ctx, me.ID, other.ID)
	if err != nil {
		return writeProblem(c, err)
	}
	out := make([]dmJSON, 0, len(page))
	for _, m := range page {
		out = append(out, s.dmView(m, me, other))
	}
	return c.JSON(http.StatusOK, map[string]any{"with": person(other), "blocked": blocked, "messages": out, "next": next})
}

func (s *Server) markRead(c echo.Context) error {
	other, err := s.records.UserByName(c.Request().Context(), c.Param("name"))
	if err != nil {
		return writeProblem(c, err)
	}
	me := current(c).user
	if err := s.messages.MarkRead(c.Request().Context(), me.ID, other.ID); err != nil {
		return writeProblem(c, err)
	}
	if err := s.messages.NotifyRead(c.Request().Context(), room.Sender{ID: me.ID, Name: me.Name}, room.Sender{ID: other.ID, Name: other.Name}); err != nil {
		s.log.Warn("dm read notice", "err", err) // stored already; pages catch up on their next load
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) block(c echo.Context) error {
	other, err := s.records.UserByName(c.Request().Context(), c.Param("name"))
	if err != nil {
		return writeProblem(c, err)
	}
	on := c.Request().Method == http.MethodPost
	if err := s.messages.SetBlocked(c.Request().Context(), current(c).user.ID, other.ID, on); err != nil {
		return writeProblem(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

// userSocket serves GET /ws/me: the logged-in user's private messages and
// notifications, live, in the same frames as a room socket.
func (s *Server) userSocket(c echo.Context) error {
	token := bearer(c.Request().Header.Get(echo.HeaderAuthorization))
	if token == "" {
		token = c.QueryParam("token")
	}
	if token == "" {
		if ck, err := c.Cookie(sessionCookie); err == nil {
			token = ck.Value
		}
	}
	u, _, err := s.accounts.Verify(c.Request().Context(), token)
	if err != nil {
		return writeProblem(c, err)
	}
	conn, err := websocket.Accept(c.Response(), c.Request(), nil)
	if err != nil {
		return nil
	}
	conn.SetReadLimit(maxInbound)
	ctx, cancel := context.WithCancel(c.Request().Context())
	defer cancel()
	defer conn.CloseNow()
	leave, err := s.messages.JoinUser(u.ID, sfuSessionID(), &wsSink{conn: conn}, func(reason error) {
		_ = conn.Close(closeFor(reason))
		cancel()
	})
	if err != nil {
		_ = conn.Close(websocket.StatusTryAgainLater, "unavailable; reconnect")
		return nil
	}
	defer leave()
	defer s.local.add("", u.ID, func() { // a platform ban
		_ = conn.Close(closeKicked, kickedReason)
		cancel()
	})()
	for {
		if _, _, err := conn.Read(ctx); err != nil { // the socket only receives
			return nil
		}
	}
}
