package signaling

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"

	"github.com/labstack/echo/v4"

	"github.com/onair-live/onair/account"
	"github.com/onair-live/onair/media/egress"
	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/sfu"
	"github.com/onair-live/onair/store"
)

// Egress serves what the media jobs make of live rooms: HLS, snapshots and
// restream targets; *egress.Supervisor satisfies it.
type Egress interface {
	// HLSDir is the folder of a live room's playlist and segments; false when
	// the room is not live on this node or HLS is off.
	HLSDir(room string) (string, bool)
	// Snapshot is the path of a live room's latest JPEG; false when the room
	// is not live on this node.
	Snapshot(room string) (string, bool)
	Targets(ctx context.Context, room string) ([]egress.TargetView, error)
	AddTarget(ctx context.Context, room string, in egress.TargetInput) (egress.TargetView, error)
	UpdateTarget(ctx context.Context, room, id string, p egress.TargetPatch) (egress.TargetView, error)
	RemoveTarget(ctx context.Context, room, id string) error
}

// egressAPI serves /hls/{room}/..., snapshots and restream targets.
type egressAPI struct {
	s  *Server
	eg Egress
}

// egressRoutes adds HLS, snapshot and restream routes when the node runs the
// media jobs.
func (s *Server) egressRoutes(e *echo.Echo, api *echo.Group, eg Egress) {
	if eg == nil {
		return
	}
	h := egressAPI{s: s, eg: eg}
	e.GET("/hls/:room/:file", h.hls, s.authenticate)
	api.GET("/rooms/:room/snapshot.jpg", h.snapshot)
	if s.records != nil && s.accounts != nil {
		api.GET("/rooms/:room/restream", h.listTargets, require(store.RoleViewer))
		api.POST("/rooms/:room/restream", h.addTarget, require(store.RoleViewer))
		api.PATCH("/rooms/:room/restream/:id", h.updateTarget, require(store.RoleViewer))
		api.DELETE("/rooms/:room/restream/:id", h.removeTarget, require(store.RoleViewer))
	}
}

// hlsFiles are the names a room job writes, with their media types (RFC
// 8216 §4 for the playlist; fMP4 init and media segments; MPEG-TS).
var hlsFiles = []struct {
	name  *regexp.Regexp
	ctype string
	live  bool // changes while live: never cached
}{
	{regexp.MustCompile(`^index\.m3u8$`), "application/vnd.apple.mpegurl", true},
	{regexp.MustCompile(`^init-[0-9]+\.mp4$`), "video/mp4", false},
	{regexp.MustCompile(`^[0-9]+-[0-9]+\.m4s$`), "video/iso.segment", false},
	{regexp.MustCompile(`^[0-9]+-[0-9]+\.ts$`), "video/mp2t", false},
}

// watchable checks that the caller may watch the request's room, as for
// WHEP: anyone a public room (or one with no record: dev mode), only a
// logged-in user a private one, and nobody a room that banned them. It
// returns the room and whether it is private.
func (h egressAPI) watchable(c echo.Context) (id room.ID, private bool, err error) {
	if id, err = room.ParseID(c.Param("room")); err != nil || h.s.records == nil {
		return id, false, err
	}
	ctx := c.Request().Context()
	rec, err := h.s.records.RoomByID(ctx, string(id))
	if errors.Is(err, store.ErrNotFound) {
		return id, false, nil
	}
	if err != nil {
		return id, false, err
	}
	p := current(c)
	if rec.Private && p == nil {
		return id, true, fmt.Errorf("%w: this room is private; log in to watch", account.ErrUnauthenticated)
	}
	if p != nil {
		if err := h.s.bannedFrom(ctx, id, p.user.ID); err != nil {
			return id, rec.Private, err
		}
	}
	return id, rec.Private, nil
}

// serveFile answers a file of a live room with its type and caching:
// playlists and snapshots are revalidated every time, segments never change
// (every run of ffmpeg names its own). Only a public room's files may be
// kept by shared caches and read from other sites (hls.js players).
func serveFile(c echo.Context, path, ctype string, changes, private bool) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		c.Response().Header().Set("Retry-After", "1")
		return writeProblem(c, echo.NewHTTPError(http.StatusNotFound, "not written yet (or no longer kept): the room is live, try again in a moment"))
	}
	if err != nil {
		return writeProblem(c, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return writeProblem(c, err)
	}
	hdr := c.Response().Header()
	hdr.Set(echo.HeaderContentType, ctype)
	hdr.Set("X-Content-Type-Options", "nosniff")
	scope := "public"
	if private {
		scope = "private"
	} else {
		hdr.Set("Access-Control-Allow-Origin", "*")
	}
	if changes {
		hdr.Set("Cache-Control", scope+", no-cache")
	} else {
		hdr.Set("Cache-Control", scope+", max-age=31536000, immutable")
	}
	http.ServeContent(c.Response(), c.Request(), "", info.ModTime(), f)
	return nil
}

// hls serves GET /hls/{room}/{file}: a live room's playlist and segments.
func (h egressAPI) hls(c echo.Context) error {
	name := c.Param("file")
	i := -1
	for k, f := range hlsFiles {
		if f.name.MatchString(name) {
			i = k
		}
	}
	if i < 0 {
		return writeProblem(c, echo.NewHTTPError(http.StatusNotFound, "no such HLS file; the playlist is index.m3u8"))
	}
	id, private, err := h.watchable(c)
	if err != nil {
		return writeProblem(c, err)
	}
	dir, ok := h.eg.HLSDir(string(id))
	if !ok {
		return writeProblem(c, fmt.Errorf("%w: room %q has no HLS stream now", sfu.ErrNotLive, id))
	}
	return serveFile(c, filepath.Join(dir, name), hlsFiles[i].ctype, hlsFiles[i].live, private)
}

// snapshot serves GET /api/rooms/{room}/snapshot.jpg: the latest picture of
// a live room.
func (h egressAPI) snapshot(c echo.Context) error {
	id, private, err := h.watchable(c)
	if err != nil {
		return writeProblem(c, err)
	}
	path, ok := h.eg.Snapshot(string(id))
	if !ok {
		return writeProblem(c, fmt.Errorf("%w: room %q has no snapshot now", sfu.ErrNotLive, id))
	}
	return serveFile(c, path, "image/jpeg", true, private)
}
