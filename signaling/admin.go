package signaling

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/onair-live/onair/account"
	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/store"
)

// Platform is what admins change through the API; *store.DB satisfies it.
type Platform interface {
	Settings(ctx context.Context) (store.Settings, error)
	PutSettings(ctx context.Context, s store.Settings) error
	UserByName(ctx context.Context, name string) (store.User, error)
	SetBanned(ctx context.Context, id string, banned bool, reason string) error
	RevokeAllFor(ctx context.Context, userID string, before time.Time) error
}

type settingsJSON struct {
	BroadcastRequiresVerified bool `json:"broadcast_requires_verified"`
	BroadcastMinLevel         int  `json:"broadcast_min_level"`
}

func (s *Server) getSettings(c echo.Context) error {
	st, err := s.platform.Settings(c.Request().Context())
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, settingsJSON{st.BroadcastRequiresVerified, st.BroadcastMinLevel})
}

func (s *Server) putSettings(c echo.Context) error {
	var in settingsJSON
	if err := bindJSON(c, &in); err != nil {
		return writeProblem(c, err)
	}
	if in.BroadcastMinLevel < 0 || in.BroadcastMinLevel > 1000 {
		return writeProblem(c, fmt.Errorf("%w: broadcast_min_level is 0 to 1000", ErrBadRequest))
	}
	st := store.Settings{BroadcastRequiresVerified: in.BroadcastRequiresVerified, BroadcastMinLevel: in.BroadcastMinLevel}
	if err := s.platform.PutSettings(c.Request().Context(), st); err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, in)
}

type banJSON struct {
	Reason string `json:"reason"`
}

// ban bans (POST) or unbans (DELETE) a user platform-wide; a ban also ends
// every session the user has, so it takes effect at once.
func (s *Server) ban(c echo.Context) error {
	ctx := c.Request().Context()
	u, err := s.platform.UserByName(ctx, c.Param("name"))
	if err != nil {
		return writeProblem(c, err)
	}
	if u.Role.AtLeast(current(c).user.Role) {
		return writeProblem(c, fmt.Errorf("%w: you can only ban or unban users below your own role", account.ErrForbidden))
	}
	if c.Request().Method == http.MethodDelete {
		if err := s.platform.SetBanned(ctx, u.ID, false, ""); err != nil {
			return writeProblem(c, err)
		}
		return c.NoContent(http.StatusNoContent)
	}
	var in banJSON
	if err := bindJSON(c, &in); err != nil {
		return writeProblem(c, err)
	}
	if in.Reason == "" || len(in.Reason) > 200 {
		return writeProblem(c, fmt.Errorf("%w: give a reason of 1 to 200 characters; the user is shown it", ErrBadRequest))
	}
	if err := s.platform.SetBanned(ctx, u.ID, true, in.Reason); err != nil {
		return writeProblem(c, err)
	}
	if err := s.platform.RevokeAllFor(ctx, u.ID, time.Now()); err != nil {
		return writeProblem(c, err)
	}
	s.media.Kick(u.Name, u.Name) // a banned streamer's live stream ends now
	if s.kicker != nil {         // and their chat and viewing, in every room, on every node
		if err := s.kicker.Kick("", u.ID); err != nil {
			s.log.Warn("kick after platform ban", "user", u.Name, "err", err)
		}
	}
	return c.NoContent(http.StatusNoContent)
}

// WordList is the platform's word filter list (stored in NATS, so every node
// applies a change at once).
type WordList interface {
	Get(ctx context.Context) ([]room.WordRule, error)
	Set(ctx context.Context, rules []room.WordRule) error
}

// maxWords bounds the list an admin can upload in one request.
const maxWords = 20000

func (s *Server) getWords(c echo.Context) error {
	rules, err := s.words.Get(c.Request().Context())
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"words": rules})
}

func (s *Server) putWords(c echo.Context) error {
	var in struct {
		Words []room.WordRule `json:"words"`
	}
	c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, 2<<20)
	if err := bindJSONLimit(c, &in, 2<<20); err != nil {
		return writeProblem(c, err)
	}
	if len(in.Words) > maxWords {
		return writeProblem(c, fmt.Errorf("%w: at most %d words", ErrBadRequest, maxWords))
	}
	if err := s.words.Set(c.Request().Context(), in.Words); err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"words": in.Words})
}
