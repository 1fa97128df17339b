package signaling

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/sfu"
)

// SnapshotArchive is the live rooms' snapshots kept for moderation review,
// one JPEG a minute or so per room, for a few days.
type SnapshotArchive interface {
	// ArchivedSnapshots lists a room's kept snapshots taken before before
	// (any time when zero), newest first, at most limit of them; a room
	// with none has an empty list.
	ArchivedSnapshots(ctx context.Context, room string, before time.Time, limit int) ([]ArchivedSnapshot, error)
	// ArchivedSnapshot is the path of the room's kept snapshot named name
	// (as listed), or store.ErrNotFound.
	ArchivedSnapshot(ctx context.Context, room, name string) (string, error)
}

// ArchivedSnapshot is one kept snapshot of a room.
type ArchivedSnapshot struct {
	Name    string // "<unix-ms>.jpg": when it was taken
	TakenAt time.Time
	Bytes   int64
}

// archivedName is the only shape of a kept snapshot's name, so no request
// names a path of its own ("../", "/", "%2F" and the like never match).
var archivedName = regexp.MustCompile(`^[0-9]{1,19}\.jpg$`)

// Paging of a room's kept snapshots.
const (
	snapshotPage    = 60
	maxSnapshotPage = 200
)

// liveWall serves the admins' live wall: every live room with its current
// snapshot, ending a broadcast, and the snapshots kept of a room.
type liveWall struct {
	s        *Server
	snapshot bool            // this node serves /api/rooms/{room}/snapshot.jpg
	archive  SnapshotArchive // nil: none kept
}

// liveWallRoutes adds the live wall's routes to the admin group, whose
// require(store.RoleAdmin) is their only role check.
func (s *Server) liveWallRoutes(admin *echo.Group, eg Egress, archive SnapshotArchive) {
	h := liveWall{s: s, snapshot: eg != nil, archive: archive}
	admin.GET("/live", h.live)
	admin.POST("/rooms/:room/end", h.end)
	if archive != nil {
		admin.GET("/rooms/:room/snapshots", h.snapshots)
		admin.GET("/rooms/:room/snapshots/:file", h.snapshotFile)
	}
}

// liveTileJSON is a live room as the wall shows it.
type liveTileJSON struct {
	liveRoomJSON
	// Here is whether the room is live on this node, which alone can end it.
	Here bool `json:"here"`
	// SnapshotURL is its current picture (empty without media jobs).
	SnapshotURL string `json:"snapshot_url,omitempty"`
	// SnapshotsURL lists the pictures kept of it (empty when none are kept).
	SnapshotsURL string `json:"snapshots_url,omitempty"`
}

// live serves GET /api/admin/live: every live room, private ones too, most
// viewers first.
func (h liveWall) live(c echo.Context) error {
	rooms, err := h.s.liveList(c.Request().Context(), true)
	if err != nil {
		return writeProblem(c, err)
	}
	here := map[string]bool{}
	for _, r := range h.s.media.Rooms() {
		here[r.ID] = true
	}
	out := make([]liveTileJSON, 0, len(rooms))
	for _, r := range rooms {
		t := liveTileJSON{liveRoomJSON: r, Here: here[r.ID]}
		id := url.PathEscape(r.ID)
		if h.snapshot {
			t.SnapshotURL = "/api/rooms/" + id + "/snapshot.jpg"
		}
		if h.archive != nil {
			t.SnapshotsURL = "/api/admin/rooms/" + id + "/snapshots"
		}
		out = append(out, t)
	}
	return c.JSON(http.StatusOK, map[string]any{"rooms": out})
}

// end serves POST /api/admin/rooms/{room}/end: the room's broadcast ends
// now, every co-host's stream; audited. Only the node the room is live on
// can end it.
func (h liveWall) end(c echo.Context) error {
	id, err := room.ParseID(c.Param("room"))
	if err != nil {
		return writeProblem(c, err)
	}
	rooms := h.s.media.Rooms()
	i := slices.IndexFunc(rooms, func(r sfu.RoomInfo) bool { return r.ID == string(id) })
	if i < 0 {
		return writeProblem(c, fmt.Errorf("%w: room %q is not live on this node (the wall marks the rooms another node hosts)", sfu.ErrNotLive, id))
	}
	r := rooms[i]
	for _, p := range r.Publishers {
		h.s.media.Kick(r.ID, p)
	}
	if h.s.moderation != nil {
		h.s.audit(c, "broadcast_end", r.ID, "", "")
	}
	return c.NoContent(http.StatusNoContent)
}

type archivedSnapshotJSON struct {
	Name    string    `json:"name"`
	TakenAt time.Time `json:"taken_at"`
	Bytes   int64     `json:"bytes"`
	URL     string    `json:"url"`
}

// queryInt reads an optional positive integer query parameter of at most max.
func queryInt(c echo.Context, name string, def, max int64) (int64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || n > max {
		return 0, fmt.Errorf("%w: %s is a whole number from 1 to %d", ErrBadRequest, name, max)
	}
	return n, nil
}

// snapshots serves GET /api/admin/rooms/{room}/snapshots?before=&limit=:
// the pictures kept of a room, newest first, a page at a time; next is the
// following page's URL, absent on the last.
func (h liveWall) snapshots(c echo.Context) error {
	id, err := room.ParseID(c.Param("room"))
	if err != nil {
		return writeProblem(c, err)
	}
	limit, err := queryInt(c, "limit", snapshotPage, maxSnapshotPage)
	if err != nil {
		return writeProblem(c, err)
	}
	beforeMS, err := queryInt(c, "before", 0, 1<<62)
	if err != nil {
		return writeProblem(c, fmt.Errorf("%w (milliseconds since 1970, from the previous page's next)", err))
	}
	var before time.Time
	if beforeMS > 0 {
		before = time.UnixMilli(beforeMS)
	}
	list, err := h.archive.ArchivedSnapshots(c.Request().Context(), string(id), before, int(limit)+1)
	if err != nil {
		return writeProblem(c, err)
	}
	base := "/api/admin/rooms/" + url.PathEscape(string(id)) + "/snapshots"
	next := ""
	if len(list) > int(limit) {
		list = list[:limit]
		next = fmt.Sprintf("%s?before=%d&limit=%d", base, list[len(list)-1].TakenAt.UnixMilli(), limit)
	}
	out := make([]archivedSnapshotJSON, 0, len(list))
	for _, s := range list {
		out = append(out, archivedSnapshotJSON{Name: s.Name, TakenAt: s.TakenAt, Bytes: s.Bytes, URL: base + "/" + s.Name})
	}
	return c.JSON(http.StatusOK, map[string]any{"room": id, "snapshots": out, "next": next})
}

// snapshotFile serves GET /api/admin/rooms/{room}/snapshots/{file}: one
// kept picture. It never changes but is for admins only: private caches.
func (h liveWall) snapshotFile(c echo.Context) error {
	id, err := room.ParseID(c.Param("room"))
	if err != nil {
		return writeProblem(c, err)
	}
	name := c.Param("file")
	if !archivedName.MatchString(name) {
		return writeProblem(c, fmt.Errorf("%w: kept snapshots are named <unix-ms>.jpg, as the list gives them", ErrBadRequest))
	}
	path, err := h.archive.ArchivedSnapshot(c.Request().Context(), string(id), name)
	if err != nil {
		return writeProblem(c, err)
	}
	return serveFile(c, path, "image/jpeg", false, true)
}
