package signaling

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/store"
)

// Review is the queue of chat messages the word filter held for moderators.
type Review interface {
	// Held lists a room's pending messages, oldest first.
	Held(ctx context.Context, roomID string, limit int) ([]store.HeldMessage, error)
	// Decide approves (the message is then published to the room as from its
	// sender) or rejects a pending message; a message decided already, or not
	// held in that room, is store.ErrNotFound.
	Decide(ctx context.Context, roomID, id string, approve bool, byID string) (store.HeldMessage, error)
}

type heldJSON struct {
	ID   string          `json:"id"`
	At   time.Time       `json:"at"`
	From room.Sender     `json:"from"`
	Type string          `json:"type"`
	Body json.RawMessage `json:"body"`
}

// heldList answers the room's review queue to those who moderate it.
func (s *Server) heldList(c echo.Context) error {
	r, err := s.moderatedRoom(c)
	if err != nil {
		return writeProblem(c, err)
	}
	held, err := s.review.Held(c.Request().Context(), r.ID, 100)
	if err != nil {
		return writeProblem(c, err)
	}
	out := make([]heldJSON, 0, len(held))
	for _, m := range held {
		out = append(out, heldJSON{ID: m.ID, At: m.At, From: room.Sender{ID: m.UserID, Name: m.UserName}, Type: m.Kind, Body: json.RawMessage(m.Body)})
	}
	return c.JSON(http.StatusOK, map[string]any{"messages": out})
}

// heldDecide approves or rejects one held message; both are audited.
func (s *Server) heldDecide(c echo.Context) error {
	r, err := s.moderatedRoom(c)
	if err != nil {
		return writeProblem(c, err)
	}
	var in struct {
		Action string `json:"action"`
	}
	if err := bindJSON(c, &in); err != nil {
		return writeProblem(c, err)
	}
	if in.Action != "approve" && in.Action != "reject" {
		return writeProblem(c, fmt.Errorf(`%w: action must be "approve" or "reject"`, ErrBadRequest))
	}
	m, err := s.review.Decide(c.Request().Context(), r.ID, c.Param("id"), in.Action == "approve", current(c).user.ID)
	if err != nil {
		return writeProblem(c, err)
	}
	s.audit(c, "held_"+in.Action, r.ID, m.UserID, m.ID)
	return c.NoContent(http.StatusNoContent)
}
