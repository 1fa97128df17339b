package signaling

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/onair-live/onair/account"
	"github.com/onair-live/onair/media/egress"
	"github.com/onair-live/onair/store"
)

// restreamProblems are the refusals of media/egress as HTTP statuses.
var restreamProblems = []struct {
	err    error
	status int
	title  string
}{
	{egress.ErrBadTarget, http.StatusBadRequest, "Bad restream target"},
	{egress.ErrNotAllowed, http.StatusUnprocessableEntity, "Restream target not allowed"},
	{egress.ErrTooManyTargets, http.StatusConflict, "Too many restream targets"},
}

func restreamProblem(c echo.Context, err error) error {
	for _, row := range restreamProblems {
		if errors.Is(err, row.err) {
			detail := strings.ReplaceAll(err.Error(), "egress: ", "")
			body, _ := json.Marshal(problem{Title: row.title, Status: row.status, Detail: detail})
			return c.Blob(row.status, "application/problem+json", body)
		}
	}
	return writeProblem(c, err)
}

type targetStatusJSON struct {
	State    egress.State `json:"state"`
	Reason   string       `json:"reason,omitempty"`
	Since    *time.Time   `json:"since,omitempty"`
	Restarts int          `json:"restarts"`
}

// targetJSON is a restream target as its streamer sees it: never the key.
type targetJSON struct {
	ID        string           `json:"id"`
	Name      string           `json:"name"`
	URL       string           `json:"url"`
	KeyHint   string           `json:"key_hint"`
	Enabled   bool             `json:"enabled"`
	Status    targetStatusJSON `json:"status"`
	CreatedAt time.Time        `json:"created_at"`
}

func toTargetJSON(v egress.TargetView) targetJSON {
	st := targetStatusJSON{State: v.Status.State, Reason: v.Status.Reason, Restarts: v.Status.Restarts}
	if !v.Status.Since.IsZero() {
		since := v.Status.Since.UTC()
		st.Since = &since
	}
	return targetJSON{ID: v.ID, Name: v.Name, URL: v.URL, KeyHint: v.KeyHint, Enabled: v.Enabled, Status: st, CreatedAt: v.CreatedAt}
}

// managedRoom is the room of the request if the caller may change it (its
// streamer or an admin).
func (h egressAPI) managedRoom(c echo.Context) (store.Room, error) {
	r, _, err := h.s.roomRecord(c)
	if err != nil {
		return store.Room{}, err
	}
	if !canManageRoom(current(c), r) {
		return store.Room{}, fmt.Errorf("%w: only the room's streamer or an admin may manage its restream targets", account.ErrForbidden)
	}
	return r, nil
}

// listTargets serves GET /api/rooms/{room}/restream.
func (h egressAPI) listTargets(c echo.Context) error {
	r, err := h.managedRoom(c)
	if err != nil {
		return writeProblem(c, err)
	}
	views, err := h.eg.Targets(c.Request().Context(), r.ID)
	if err != nil {
		return restreamProblem(c, err)
	}
	out := make([]targetJSON, 0, len(views))
	for _, v := range views {
		out = append(out, toTargetJSON(v))
	}
	return c.JSON(http.StatusOK, map[string]any{"targets": out})
}

type targetInJSON struct {
	Name    *string `json:"name"`
	URL     *string `json:"url"`
	Key     *string `json:"key"`
	Enabled *bool   `json:"enabled"`
}

// managedInput is managedRoom and the request's target fields.
func (h egressAPI) managedInput(c echo.Context) (store.Room, targetInJSON, error) {
	var in targetInJSON
	r, err := h.managedRoom(c)
	if err == nil {
		err = bindJSON(c, &in)
	}
	return r, in, err
}

// addTarget serves POST /api/rooms/{room}/restream.
func (h egressAPI) addTarget(c echo.Context) error {
	r, in, err := h.managedInput(c)
	if err != nil {
		return writeProblem(c, err)
	}
	if in.URL == nil || in.Key == nil {
		return writeProblem(c, fmt.Errorf("%w: a restream target needs a url (rtmp:// or rtmps://) and a key", ErrBadRequest))
	}
	v, err := h.eg.AddTarget(c.Request().Context(), r.ID, egress.TargetInput{Name: deref(in.Name), URL: *in.URL, Key: *in.Key, Enabled: in.Enabled})
	if err != nil {
		return restreamProblem(c, err)
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/rooms/"+r.ID+"/restream/"+v.ID)
	return c.JSON(http.StatusCreated, toTargetJSON(v))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// updateTarget serves PATCH /api/rooms/{room}/restream/{id}.
func (h egressAPI) updateTarget(c echo.Context) error {
	r, in, err := h.managedInput(c)
	if err != nil {
		return writeProblem(c, err)
	}
	v, err := h.eg.UpdateTarget(c.Request().Context(), r.ID, c.Param("id"), egress.TargetPatch{Name: in.Name, URL: in.URL, Key: in.Key, Enabled: in.Enabled})
	if err != nil {
		return restreamProblem(c, err)
	}
	return c.JSON(http.StatusOK, toTargetJSON(v))
}

// removeTarget serves DELETE /api/rooms/{room}/restream/{id}.
func (h egressAPI) removeTarget(c echo.Context) error {
	r, err := h.managedRoom(c)
	if err != nil {
		return writeProblem(c, err)
	}
	if err := h.eg.RemoveTarget(c.Request().Context(), r.ID, c.Param("id")); err != nil {
		return restreamProblem(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}
