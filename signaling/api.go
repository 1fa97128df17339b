package signaling

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/onair-live/onair/account"
	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/sfu"
	"github.com/onair-live/onair/store"
)

// Records is what the API reads and writes in the system of record; *store.DB
// satisfies it.
type Records interface {
	UserByName(ctx context.Context, name string) (store.User, error)
	RoomByID(ctx context.Context, id string) (store.Room, error)
	Rooms(ctx context.Context, ids []string) (map[string]store.Room, error)
	UpdateRoom(ctx context.Context, id string, p store.RoomPatch) (store.Room, error)
	Follow(ctx context.Context, followerID, followeeID string) error
	Unfollow(ctx context.Context, followerID, followeeID string) error
	IsFollowing(ctx context.Context, followerID, followeeID string) (bool, error)
	Followers(ctx context.Context, userID, after string, limit int) ([]store.User, string, error)
	Following(ctx context.Context, userID, after string, limit int) ([]store.User, string, error)
	FollowerCount(ctx context.Context, userID string) (int, error)
	UsersByID(ctx context.Context, ids []string) (map[string]store.User, error)
}

// Viewers counts a room's viewers across nodes (room.Presence satisfies it).
type Viewers interface {
	Count(ctx context.Context, room room.ID) (int, error)
}

// Directory lists the rooms live on any node (room.Directory satisfies it).
type Directory interface {
	List(ctx context.Context) ([]room.LiveRoom, error)
}

// ErrBadRequest is a request body or parameter a person must correct.
var ErrBadRequest = errors.New("bad request")

// userJSON is a user as the API shows it: never the password hash.
type userJSON struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	DisplayName string     `json:"display_name"`
	Role        store.Role `json:"role"`
	Verified    bool       `json:"verified"`
	Level       int        `json:"level"`
	CreatedAt   time.Time  `json:"created_at"`
}

func toUser(u store.User) userJSON {
	return userJSON{ID: u.ID, Name: u.Name, DisplayName: u.DisplayName, Role: u.Role, Verified: u.Verified, Level: u.Level, CreatedAt: u.CreatedAt}
}

type personJSON struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
}

// bindJSON decodes a small JSON body, refusing unknown fields and trailing data.
func bindJSON(c echo.Context, v any) error { return bindJSONLimit(c, v, 16<<10) }

// bindJSONLimit is bindJSON for a body of up to limit bytes.
func bindJSONLimit(c echo.Context, v any, limit int64) error {
	mt := c.Request().Header.Get(echo.HeaderContentType)
	if !isJSON(mt) {
		return fmt.Errorf("%w: send Content-Type: application/json (got %q)", ErrBadMediaType, mt)
	}
	dec := json.NewDecoder(io.LimitReader(c.Request().Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: the body is not the JSON expected: %v", ErrBadRequest, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: one JSON object expected", ErrBadRequest)
	}
	return nil
}

func isJSON(mt string) bool {
	return mt == "application/json" || len(mt) > 16 && mt[:16] == "application/json"
}

type credentials struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

func (s *Server) signup(c echo.Context) error {
	var in credentials
	if err := bindJSON(c, &in); err != nil {
		return writeProblem(c, err)
	}
	sess, err := s.accounts.Signup(c.Request().Context(), in.Name, in.Password, c.RealIP())
	if err != nil {
		return writeProblem(c, err)
	}
	setSessionCookie(c, sess.Token, sess.Claims.Expires)
	return c.JSON(http.StatusCreated, map[string]any{"token": sess.Token, "user": toUser(sess.User)})
}

func (s *Server) login(c echo.Context) error {
	var in credentials
	if err := bindJSON(c, &in); err != nil {
		return writeProblem(c, err)
	}
	sess, err := s.accounts.Login(c.Request().Context(), in.Name, in.Password, c.RealIP())
	if err != nil {
		return writeProblem(c, err)
	}
	setSessionCookie(c, sess.Token, sess.Claims.Expires)
	return c.JSON(http.StatusOK, map[string]any{"token": sess.Token, "user": toUser(sess.User)})
}

func (s *Server) logout(c echo.Context) error {
	if err := s.accounts.Logout(c.Request().Context(), current(c).claims); err != nil {
		return writeProblem(c, err)
	}
	clearCookie(c)
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) me(c echo.Context) error { return c.JSON(http.StatusOK, toUser(current(c).user)) }

func (s *Server) rotateKey(c echo.Context) error {
	me := current(c).user
	key, err := s.accounts.RotateStreamKey(c.Request().Context(), me.ID)
	if err != nil {
		return writeProblem(c, err)
	}
	s.media.Kick(me.Name, me.Name) // whoever streams with the old key is cut off
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, map[string]string{"stream_key": key})
}

type liveRoomJSON struct {
	ID         string     `json:"id"`
	Title      string     `json:"title"`
	CoverURL   string     `json:"cover_url"`
	Category   string     `json:"category"`
	Streamer   personJSON `json:"streamer"`
	Viewers    int        `json:"viewers"`
	StartedAt  time.Time  `json:"started_at,omitzero"`
	Publishers int        `json:"publishers"`
	Private    bool       `json:"private,omitempty"` // only admins see these
}

// liveRooms lists the public rooms live now on any node.
func (s *Server) liveRooms(c echo.Context) error {
	out, err := s.liveList(c.Request().Context(), false)
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"rooms": out})
}

// liveList is the rooms live now on any node (the shared directory; this
// node's stage without one), enriched from the system of record in one batch,
// most viewers first; private rooms only when withPrivate.
func (s *Server) liveList(ctx context.Context, withPrivate bool) ([]liveRoomJSON, error) {
	live, err := s.liveNow(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(live))
	for _, r := range live {
		ids = append(ids, r.ID)
	}
	recs := map[string]store.Room{}
	owners := map[string]store.User{}
	if s.records != nil {
		if recs, err = s.records.Rooms(ctx, ids); err != nil {
			return nil, err
		}
		ownerIDs := make([]string, 0, len(recs))
		for _, r := range recs {
			ownerIDs = append(ownerIDs, r.OwnerID)
		}
		if owners, err = s.records.UsersByID(ctx, ownerIDs); err != nil {
			return nil, err
		}
	}
	out := make([]liveRoomJSON, 0, len(live))
	for _, r := range live {
		rec, ok := recs[r.ID]
		if ok && rec.Private && !withPrivate {
			continue
		}
		lr := liveRoomJSON{ID: r.ID, Title: cmp.Or(rec.Title, r.ID), CoverURL: rec.CoverURL, Category: rec.Category,
			Streamer: personJSON{Name: r.ID, DisplayName: r.ID}, Viewers: s.viewerCount(ctx, r), StartedAt: r.StartedAt, Publishers: len(r.Publishers), Private: rec.Private}
		if o, ok := owners[rec.OwnerID]; ok {
			lr.Streamer = personJSON{Name: o.Name, DisplayName: cmp.Or(o.DisplayName, o.Name)}
		}
		out = append(out, lr)
	}
	slices.SortStableFunc(out, func(a, b liveRoomJSON) int { return cmp.Or(b.Viewers-a.Viewers, cmp.Compare(a.ID, b.ID)) })
	return out, nil
}

// liveNow is every live room: from the directory all nodes share, with this
// node's stage details where it hosts the room.
func (s *Server) liveNow(ctx context.Context) ([]sfu.RoomInfo, error) {
	local := s.media.Rooms()
	if s.directory == nil {
		return local, nil
	}
	entries, err := s.directory.List(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]sfu.RoomInfo, len(local))
	for _, r := range local {
		byID[r.ID] = r
	}
	out := make([]sfu.RoomInfo, 0, len(entries))
	for _, e := range entries {
		r, ok := byID[string(e.ID)]
		if !ok {
			r = sfu.RoomInfo{ID: string(e.ID), StartedAt: e.StartedAt}
		}
		delete(byID, r.ID)
		out = append(out, r)
	}
	for _, r := range byID { // live here but not yet in the directory
		out = append(out, r)
	}
	return out, nil
}

// viewerCount prefers the shared presence count (all nodes) over this node's.
func (s *Server) viewerCount(ctx context.Context, r sfu.RoomInfo) int {
	if s.viewers != nil {
		if n, err := s.viewers.Count(ctx, room.ID(r.ID)); err == nil {
			return n
		}
	}
	return r.Subscribers
}

type roomJSON struct {
	ID        string     `json:"id"`
	Title     string     `json:"title"`
	CoverURL  string     `json:"cover_url"`
	Category  string     `json:"category"`
	Private   bool       `json:"private"`
	Owner     personJSON `json:"owner"`
	Live      bool       `json:"live"`
	Viewers   int        `json:"viewers"`
	Followers int        `json:"followers"`
	Following bool       `json:"following"`
	// Chat rules.
	SlowModeSeconds      int  `json:"slow_mode_seconds"`
	FollowersOnly        bool `json:"followers_only"`
	MinAccountAgeMinutes int  `json:"min_account_age_minutes"`
}

func (s *Server) roomRecord(c echo.Context) (store.Room, store.User, error) {
	id, err := room.ParseID(c.Param("room"))
	if err != nil {
		return store.Room{}, store.User{}, err
	}
	ctx := c.Request().Context()
	r, err := s.records.RoomByID(ctx, string(id))
	if err != nil {
		return store.Room{}, store.User{}, err
	}
	owner, err := s.records.UserByName(ctx, r.ID)
	return r, owner, err
}

func (s *Server) roomView(c echo.Context, r store.Room, owner store.User) error {
	ctx := c.Request().Context()
	out := roomJSON{ID: r.ID, Title: r.Title, CoverURL: r.CoverURL, Category: r.Category, Private: r.Private,
		Owner:           personJSON{Name: owner.Name, DisplayName: cmp.Or(owner.DisplayName, owner.Name)},
		SlowModeSeconds: r.SlowModeSeconds, FollowersOnly: r.FollowersOnly, MinAccountAgeMinutes: r.MinAccountAgeMinutes}
	live, err := s.liveNow(ctx)
	if err != nil {
		return writeProblem(c, err)
	}
	for _, lr := range live {
		if lr.ID == r.ID {
			out.Live, out.Viewers = true, s.viewerCount(ctx, lr)
		}
	}
	if out.Followers, err = s.records.FollowerCount(ctx, owner.ID); err != nil {
		return writeProblem(c, err)
	}
	if p := current(c); p != nil {
		if out.Following, err = s.records.IsFollowing(ctx, p.user.ID, owner.ID); err != nil {
			return writeProblem(c, err)
		}
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) getRoom(c echo.Context) error {
	r, owner, err := s.roomRecord(c)
	if errors.Is(err, store.ErrNotFound) {
		// A room live on the stage without a record (dev mode, configured keys)
		// still exists for its viewers.
		if live, lerr := s.liveNow(c.Request().Context()); lerr == nil {
			for _, lr := range live {
				if lr.ID == c.Param("room") {
					return c.JSON(http.StatusOK, roomJSON{ID: lr.ID, Title: lr.ID, Owner: personJSON{Name: lr.ID, DisplayName: lr.ID},
						Live: true, Viewers: s.viewerCount(c.Request().Context(), lr)})
				}
			}
		}
	}
	if err != nil {
		return writeProblem(c, err)
	}
	if r.Private && current(c) == nil {
		return writeProblem(c, fmt.Errorf("%w: no room %q", store.ErrNotFound, r.ID))
	}
	return s.roomView(c, r, owner)
}

type roomPatchJSON struct {
	Title                *string `json:"title"`
	CoverURL             *string `json:"cover_url"`
	Category             *string `json:"category"`
	Private              *bool   `json:"private"`
	SlowModeSeconds      *int    `json:"slow_mode_seconds"`
	FollowersOnly        *bool   `json:"followers_only"`
	MinAccountAgeMinutes *int    `json:"min_account_age_minutes"`
}

func (p roomPatchJSON) validate() error {
	switch {
	case p.Title != nil && utf8.RuneCountInString(*p.Title) > 80:
		return fmt.Errorf("%w: a title has at most 80 characters", ErrBadRequest)
	case p.Category != nil && utf8.RuneCountInString(*p.Category) > 32:
		return fmt.Errorf("%w: a category has at most 32 characters", ErrBadRequest)
	case p.SlowModeSeconds != nil && (*p.SlowModeSeconds < 0 || *p.SlowModeSeconds > 3600):
		return fmt.Errorf("%w: slow mode is 0 (off) to 3600 seconds", ErrBadRequest)
	case p.MinAccountAgeMinutes != nil && (*p.MinAccountAgeMinutes < 0 || *p.MinAccountAgeMinutes > 525600):
		return fmt.Errorf("%w: the minimum account age is 0 to 525600 minutes (a year)", ErrBadRequest)
	case p.CoverURL != nil && *p.CoverURL != "":
		u, err := url.Parse(*p.CoverURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || len(*p.CoverURL) > 512 {
			return fmt.Errorf("%w: the cover must be an https:// image URL of at most 512 characters", ErrBadRequest)
		}
	}
	return nil
}

func (s *Server) patchRoom(c echo.Context) error {
	r, owner, err := s.roomRecord(c)
	if err != nil {
		return writeProblem(c, err)
	}
	if !canManageRoom(current(c), r) {
		return writeProblem(c, fmt.Errorf("%w: only the room's streamer or an admin may change it", account.ErrForbidden))
	}
	var in roomPatchJSON
	if err := bindJSON(c, &in); err != nil {
		return writeProblem(c, err)
	}
	if err := in.validate(); err != nil {
		return writeProblem(c, err)
	}
	r, err = s.records.UpdateRoom(c.Request().Context(), r.ID, store.RoomPatch{Title: in.Title, CoverURL: in.CoverURL, Category: in.Category, Private: in.Private,
		SlowModeSeconds: in.SlowModeSeconds, FollowersOnly: in.FollowersOnly, MinAccountAgeMinutes: in.MinAccountAgeMinutes})
	if err != nil {
		return writeProblem(c, err)
	}
	return s.roomView(c, r, owner)
}

func (s *Server) follow(c echo.Context) error {
	target, err := s.records.UserByName(c.Request().Context(), c.Param("name"))
	if err != nil {
		return writeProblem(c, err)
	}
	me := current(c).user.ID
	if c.Request().Method == http.MethodDelete {
		err = s.records.Unfollow(c.Request().Context(), me, target.ID)
	} else {
		err = s.records.Follow(c.Request().Context(), me, target.ID)
	}
	if err != nil {
		return writeProblem(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) followList(following bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		u, err := s.records.UserByName(ctx, c.Param("name"))
		if err != nil {
			return writeProblem(c, err)
		}
		limit := 20
		if v := c.QueryParam("limit"); v != "" {
			if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 100 {
				return writeProblem(c, fmt.Errorf("%w: limit is 1 to 100", ErrBadRequest))
			}
		}
		list := s.records.Followers
		if following {
			list = s.records.Following
		}
		users, next, err := list(ctx, u.ID, c.QueryParam("after"), limit)
		if err != nil {
			return writeProblem(c, err)
		}
		out := make([]personJSON, 0, len(users))
		for _, f := range users {
			out = append(out, personJSON{Name: f.Name, DisplayName: cmp.Or(f.DisplayName, f.Name)})
		}
		return c.JSON(http.StatusOK, map[string]any{"users": out, "next": next})
	}
}
