package signaling

import (
	"context"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/onair-live/onair/account"
	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/store"
)

// Reports is the admins' report queue; *store.DB satisfies it.
type Reports interface {
	CreateReport(ctx context.Context, r store.Report) (store.Report, error)
	Reports(ctx context.Context, state string, limit int) ([]store.Report, error)
	ResolveReport(ctx context.Context, id, byID string) error
}

// ReportLimiter keeps one user from flooding the queue (room.Limiter satisfies it).
type ReportLimiter interface {
	Allow(ctx context.Context, key string, rate float64, burst int) (bool, time.Duration, error)
}

type reportJSON struct {
	ID         string    `json:"id,omitempty"`
	At         time.Time `json:"at,omitzero"`
	ReporterID string    `json:"reporter_id,omitempty"`
	Room       string    `json:"room"`
	MessageID  string    `json:"message_id,omitempty"`
	Reason     string    `json:"reason"`
	State      string    `json:"state,omitempty"`
}

// report queues a logged-in user's report of a room or one of its messages.
func (s *Server) report(c echo.Context) error {
	var in reportJSON
	if err := bindJSON(c, &in); err != nil {
		return writeProblem(c, err)
	}
	if _, err := room.ParseID(in.Room); err != nil {
		return writeProblem(c, err)
	}
	if n := utf8.RuneCountInString(in.Reason); n == 0 || n > 500 {
		return writeProblem(c, fmt.Errorf("%w: say why in 1 to 500 characters", ErrBadRequest))
	}
	if in.MessageID != "" && len(in.MessageID) != 26 {
		return writeProblem(c, fmt.Errorf("%w: %q is not a message id", ErrBadRequest, in.MessageID))
	}
	me := current(c).user
	if s.reportLimit != nil {
		ok, retry, err := s.reportLimit.Allow(c.Request().Context(), "report:"+me.ID, 5.0/60, 5)
		if err != nil {
			return writeProblem(c, err)
		}
		if !ok {
			return writeProblem(c, &account.RateLimitError{RetryAfterSeconds: max(1, int(retry.Seconds()+0.999))})
		}
	}
	r, err := s.reports.CreateReport(c.Request().Context(), store.Report{ReporterID: me.ID, RoomID: in.Room, MessageID: in.MessageID, Reason: in.Reason})
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusCreated, toReport(r))
}

func toReport(r store.Report) reportJSON {
	return reportJSON{ID: r.ID, At: r.At, ReporterID: r.ReporterID, Room: r.RoomID, MessageID: r.MessageID, Reason: r.Reason, State: r.State}
}

func (s *Server) listReports(c echo.Context) error {
	state := c.QueryParam("state")
	if state == "" {
		state = "open"
	}
	if state != "open" && state != "resolved" {
		return writeProblem(c, fmt.Errorf("%w: state is open or resolved", ErrBadRequest))
	}
	rs, err := s.reports.Reports(c.Request().Context(), state, 200)
	if err != nil {
		return writeProblem(c, err)
	}
	out := make([]reportJSON, 0, len(rs))
	for _, r := range rs {
		out = append(out, toReport(r))
	}
	return c.JSON(http.StatusOK, map[string]any{"reports": out})
}

func (s *Server) resolveReport(c echo.Context) error {
	if err := s.reports.ResolveReport(c.Request().Context(), c.Param("id"), current(c).user.ID); err != nil {
		return writeProblem(c, err)
	}
	if s.moderation != nil {
		s.audit(c, "report_resolve", "", c.Param("id"), "")
	}
	return c.NoContent(http.StatusNoContent)
}
