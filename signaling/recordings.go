package signaling

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/onair-live/onair/account"
	"github.com/onair-live/onair/media/egress"
	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/store"
)

// Recordings are the recorded broadcasts of rooms, for replay.
type Recordings interface {
	// RoomRecordings lists a room's recordings, newest first.
	RoomRecordings(ctx context.Context, room string) ([]store.Recording, error)
	// Recording is one recording, or store.ErrNotFound.
	Recording(ctx context.Context, id string) (store.Recording, error)
	// DeleteRecording removes a recording's files and record.
	DeleteRecording(ctx context.Context, id string) error
	// RoomRecord is the streamer's switch (nil: none, the platform default
	// applies) and whether the room's next broadcast is recorded.
	RoomRecord(ctx context.Context, room string) (*bool, bool, error)
	// SetRoomRecord sets the switch; nil goes back to the platform default.
	SetRoomRecord(ctx context.Context, room string, on *bool) error
	// RecordsByDefault is the platform default: whether a room whose
	// streamer made no choice is recorded.
	RecordsByDefault() bool
}

type recordingsAPI struct {
	s    *Server
	recs Recordings
}

// recordingRoutes serves recordings, their media and the record switch.
func (s *Server) recordingRoutes(e *echo.Echo, api *echo.Group, recs Recordings) {
	if recs == nil || s.records == nil || s.accounts == nil {
		return
	}
	h := recordingsAPI{s: s, recs: recs}
	api.GET("/rooms/:room/recordings", h.list)
	api.GET("/rooms/:room/recording", h.getSwitch, require(store.RoleViewer))
	api.PUT("/rooms/:room/recording", h.putSwitch, require(store.RoleViewer))
	api.GET("/recordings/:id", h.one)
	api.DELETE("/recordings/:id", h.remove, require(store.RoleViewer))
	e.GET("/replay-media/:id/:file", h.media, s.authenticate)
}

type recordingJSON struct {
	ID         string     `json:"id"`
	Room       string     `json:"room"`
	StartedAt  time.Time  `json:"started_at"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
	DurationMS int64      `json:"duration_ms"`
	Bytes      int64      `json:"bytes"`
	Status     string     `json:"status"`
	Reason     string     `json:"reason,omitempty"`
	ReplayURL  string     `json:"replay_url,omitempty"` // the page
	MediaURL   string     `json:"media_url,omitempty"`  // the MP4
}

func toRecordingJSON(r store.Recording) recordingJSON {
	out := recordingJSON{ID: r.ID, Room: r.RoomID, StartedAt: r.StartedAt, EndedAt: r.EndedAt, DurationMS: r.DurationMS, Bytes: r.Bytes,
		Status: r.Status, Reason: r.Reason}
	if r.Status == store.RecordingReady {
		out.ReplayURL, out.MediaURL = "/replay/"+r.ID, "/replay-media/"+r.ID+"/"+egress.ReplayName
	}
	return out
}

// mayWatch checks that the caller may watch room id, as for WHEP and HLS:
// anyone a public room, only a logged-in user a private one, nobody a room
// that banned them. It returns the room's record.
func (h recordingsAPI) mayWatch(c echo.Context, id string) (store.Room, error) {
	ctx := c.Request().Context()
	r, err := h.s.records.RoomByID(ctx, id)
	if err != nil {
		return store.Room{}, err
	}
	p := current(c)
	if r.Private && p == nil {
		return r, fmt.Errorf("%w: this room is private; log in to watch its past broadcasts", account.ErrUnauthenticated)
	}
	if p != nil {
		if err := h.s.bannedFrom(ctx, room.ID(r.ID), p.user.ID); err != nil {
			return r, err
		}
	}
	return r, nil
}

// list serves GET /api/rooms/{room}/recordings: the room's past broadcasts;
// its streamer and admins also see those being recorded or failed.
func (h recordingsAPI) list(c echo.Context) error {
	id, err := room.ParseID(c.Param("room"))
	if err != nil {
		return writeProblem(c, err)
	}
	r, err := h.mayWatch(c, string(id))
	if err != nil {
		return writeProblem(c, err)
	}
	recs, err := h.recs.RoomRecordings(c.Request().Context(), r.ID)
	if err != nil {
		return writeProblem(c, err)
	}
	manager := canManageRoom(current(c), r)
	out := make([]recordingJSON, 0, len(recs))
	for _, rec := range recs {
		if manager || rec.Status == store.RecordingReady {
			out = append(out, toRecordingJSON(rec))
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"recordings": out})
}

// recording is the request's recording if the caller may watch its room
// (and, unless it is ready, manage the room).
func (h recordingsAPI) recording(c echo.Context) (store.Recording, store.Room, error) {
	rec, err := h.recs.Recording(c.Request().Context(), c.Param("id"))
	if err != nil {
		return store.Recording{}, store.Room{}, err
	}
	r, err := h.mayWatch(c, rec.RoomID)
	if err != nil {
		return store.Recording{}, store.Room{}, err
	}
	if rec.Status != store.RecordingReady && !canManageRoom(current(c), r) {
		return store.Recording{}, store.Room{}, fmt.Errorf("recording %s is %s: %w", rec.ID, rec.Status, store.ErrNotFound)
	}
	return rec, r, nil
}

// one serves GET /api/recordings/{id}.
func (h recordingsAPI) one(c echo.Context) error {
	rec, _, err := h.recording(c)
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, toRecordingJSON(rec))
}

// remove serves DELETE /api/recordings/{id}: the room's streamer or an
// admin deletes a recording, files and record; audited.
func (h recordingsAPI) remove(c echo.Context) error {
	rec, r, err := h.recording(c)
	if err != nil {
		return writeProblem(c, err)
	}
	if !canManageRoom(current(c), r) {
		return writeProblem(c, fmt.Errorf("%w: only the room's streamer or an admin may delete its recordings", account.ErrForbidden))
	}
	if rec.Status == store.RecordingRecording {
		return writeProblem(c, echo.NewHTTPError(http.StatusConflict, "this broadcast is still being recorded; delete it once it ended"))
	}
	if err := h.recs.DeleteRecording(c.Request().Context(), rec.ID); err != nil {
		return writeProblem(c, err)
	}
	if h.s.moderation != nil {
		h.s.audit(c, "recording_delete", r.ID, rec.ID, rec.StartedAt.Format(time.RFC3339))
	}
	return c.NoContent(http.StatusNoContent)
}

// media serves GET /replay-media/{id}/replay.mp4: the recording as one MP4
// (video/mp4, range requests), to whoever may watch its room.
func (h recordingsAPI) media(c echo.Context) error {
	if c.Param("file") != egress.ReplayName {
		return writeProblem(c, echo.NewHTTPError(http.StatusNotFound, "no such file; a recording is "+egress.ReplayName))
	}
	rec, r, err := h.recording(c)
	if err == nil && rec.Status != store.RecordingReady {
		err = fmt.Errorf("recording %s is %s: %w", rec.ID, rec.Status, store.ErrNotFound)
	}
	if err != nil {
		return writeProblem(c, err)
	}
	path := filepath.Join(rec.Path, egress.ReplayName)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return writeProblem(c, echo.NewHTTPError(http.StatusNotFound, "this recording's file is gone"))
	}
	// The file never changes, but may be deleted: caches revalidate.
	return serveFile(c, path, "video/mp4", true, r.Private)
}

type recordSwitchJSON struct {
	// Record is the streamer's choice; null means the platform default.
	Record *bool `json:"record"`
	// Effective is whether the room's next broadcast is recorded.
	Effective bool `json:"effective"`
	// PlatformDefault is whether rooms are recorded when their streamer
	// made no choice.
	PlatformDefault bool `json:"platform_default"`
}

// managed is the request's room if the caller may change it.
func (h recordingsAPI) managed(c echo.Context) (store.Room, error) {
	r, _, err := h.s.roomRecord(c)
	if err == nil && !canManageRoom(current(c), r) {
		err = fmt.Errorf("%w: only the room's streamer or an admin may change whether it is recorded", account.ErrForbidden)
	}
	return r, err
}

func (h recordingsAPI) switchView(c echo.Context, roomID string) error {
	on, eff, err := h.recs.RoomRecord(c.Request().Context(), roomID)
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, recordSwitchJSON{Record: on, Effective: eff, PlatformDefault: h.recs.RecordsByDefault()})
}

// getSwitch serves GET /api/rooms/{room}/recording.
func (h recordingsAPI) getSwitch(c echo.Context) error {
	r, err := h.managed(c)
	if err != nil {
		return writeProblem(c, err)
	}
	return h.switchView(c, r.ID)
}

// putSwitch serves PUT /api/rooms/{room}/recording with {"record": true,
// false or null}: from the next broadcast on.
func (h recordingsAPI) putSwitch(c echo.Context) error {
	r, err := h.managed(c)
	var in recordSwitchJSON
	if err == nil {
		err = bindJSON(c, &in)
	}
	if err != nil {
		return writeProblem(c, err)
	}
	if err := h.recs.SetRoomRecord(c.Request().Context(), r.ID, in.Record); err != nil {
		return writeProblem(c, err)
	}
	return h.switchView(c, r.ID)
}
