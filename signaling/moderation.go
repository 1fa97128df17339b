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

// Moderation is what room moderation reads and writes; *store.DB satisfies it.
type Moderation interface {
	SetModerator(ctx context.Context, roomID, userID string, on bool) error
	IsModerator(ctx context.Context, roomID, userID string) (bool, error)
	BanFromRoom(ctx context.Context, b store.RoomBan) error
	LiftRoomBan(ctx context.Context, roomID, userID string) error
	ActiveRoomBan(ctx context.Context, roomID, userID string, now time.Time) (store.RoomBan, bool, error)
	Audit(ctx context.Context, e store.AuditEntry) error
	AuditLog(ctx context.Context, limit int) ([]store.AuditEntry, error)
}

// canModerate: the room's streamer, its moderators, and admins.
func (s *Server) canModerate(c echo.Context, r store.Room) (bool, error) {
	p := current(c)
	if canManageRoom(p, r) {
		return true, nil
	}
	if p == nil || s.moderation == nil {
		return false, nil
	}
	return s.moderation.IsModerator(c.Request().Context(), r.ID, p.user.ID)
}

// moderatedRoom loads the room and refuses callers who may not moderate it.
func (s *Server) moderatedRoom(c echo.Context) (store.Room, error) {
	r, _, err := s.roomRecord(c)
	if err != nil {
		return store.Room{}, err
	}
	ok, err := s.canModerate(c, r)
	if err != nil {
		return store.Room{}, err
	}
	if !ok {
		return store.Room{}, fmt.Errorf("%w: only the room's streamer, its moderators or an admin may do that", account.ErrForbidden)
	}
	return r, nil
}

func (s *Server) audit(c echo.Context, action, roomID, targetID, reason string) {
	e := store.AuditEntry{ActorID: current(c).user.ID, Action: action, RoomID: roomID, TargetID: targetID, Reason: reason}
	if err := s.moderation.Audit(c.Request().Context(), e); err != nil {
		s.log.Error("audit log write failed", "action", action, "room", roomID, "err", err)
	}
}

// setModerator appoints (POST) or removes (DELETE) a room moderator: the room's
// streamer or an admin.
func (s *Server) setModerator(c echo.Context) error {
	r, _, err := s.roomRecord(c)
	if err != nil {
		return writeProblem(c, err)
	}
	if !canManageRoom(current(c), r) {
		return writeProblem(c, fmt.Errorf("%w: only the room's streamer or an admin appoints moderators", account.ErrForbidden))
	}
	u, err := s.records.UserByName(c.Request().Context(), c.Param("name"))
	if err != nil {
		return writeProblem(c, err)
	}
	on := c.Request().Method == http.MethodPost
	if err := s.moderation.SetModerator(c.Request().Context(), r.ID, u.ID, on); err != nil {
		return writeProblem(c, err)
	}
	action := "moderator_remove"
	if on {
		action = "moderator_add"
	}
	s.audit(c, action, r.ID, u.ID, "")
	return c.NoContent(http.StatusNoContent)
}

type roomBanJSON struct {
	Name    string `json:"name"`
	Minutes int    `json:"minutes"` // 0: until lifted
	Reason  string `json:"reason"`
}

// roomBan bans or times out a user from a room's chat. Nobody can ban the
// room's streamer or an admin, and moderators cannot ban each other.
func (s *Server) roomBan(c echo.Context) error {
	r, err := s.moderatedRoom(c)
	if err != nil {
		return writeProblem(c, err)
	}
	var in roomBanJSON
	if err := bindJSON(c, &in); err != nil {
		return writeProblem(c, err)
	}
	if in.Reason == "" || len(in.Reason) > 200 || in.Minutes < 0 || in.Minutes > 60*24*365 {
		return writeProblem(c, fmt.Errorf("%w: give a reason of 1 to 200 characters and minutes from 0 (until lifted) to a year", ErrBadRequest))
	}
	ctx := c.Request().Context()
	target, err := s.removable(c, r, in.Name)
	if err != nil {
		return writeProblem(c, err)
	}
	me := current(c).user
	b := store.RoomBan{RoomID: r.ID, UserID: target.ID, Reason: in.Reason, ByID: me.ID}
	action := "room_ban"
	if in.Minutes > 0 {
		b.Until, action = time.Now().Add(time.Duration(in.Minutes)*time.Minute), "room_timeout"
	}
	if err := s.moderation.BanFromRoom(ctx, b); err != nil {
		return writeProblem(c, err)
	}
	s.audit(c, action, r.ID, target.ID, in.Reason)
	if in.Minutes == 0 && s.kicker != nil { // a ban also removes them from the stream
		if err := s.kicker.Kick(room.ID(r.ID), target.ID); err != nil {
			s.log.Warn("kick after ban", "room", r.ID, "err", err)
		}
	}
	return c.NoContent(http.StatusNoContent)
}

// removable finds the user name refers to and checks that the caller may remove
// them from room r: nobody removes the room's streamer or an admin, and
// moderators cannot remove each other.
func (s *Server) removable(c echo.Context, r store.Room, name string) (store.User, error) {
	ctx := c.Request().Context()
	target, err := s.records.UserByName(ctx, name)
	if err != nil {
		return store.User{}, err
	}
	if target.ID == r.OwnerID || target.Role.AtLeast(store.RoleAdmin) {
		return store.User{}, fmt.Errorf("%w: the room's streamer and admins cannot be removed from a room", account.ErrForbidden)
	}
	me := current(c).user
	if me.ID != r.OwnerID && !me.Role.AtLeast(store.RoleAdmin) {
		mod, err := s.moderation.IsModerator(ctx, r.ID, target.ID)
		if err != nil {
			return store.User{}, err
		}
		if mod {
			return store.User{}, fmt.Errorf("%w: moderators cannot remove each other", account.ErrForbidden)
		}
	}
	return target, nil
}

// roomKick closes a user's chat and media sessions in the room on every node;
// they may come back unless also banned.
func (s *Server) roomKick(c echo.Context) error {
	r, err := s.moderatedRoom(c)
	if err != nil {
		return writeProblem(c, err)
	}
	target, err := s.removable(c, r, c.Param("name"))
	if err != nil {
		return writeProblem(c, err)
	}
	if s.kicker == nil {
		return writeProblem(c, fmt.Errorf("%w: kicking is not available", ErrBadRequest))
	}
	if err := s.kicker.Kick(room.ID(r.ID), target.ID); err != nil {
		return writeProblem(c, err)
	}
	s.audit(c, "kick", r.ID, target.ID, "")
	return c.NoContent(http.StatusNoContent)
}

// bannedFrom reports a permanent room ban of a logged-in user (a timeout only
// mutes, it does not keep them from watching).
func (s *Server) bannedFrom(ctx context.Context, id room.ID, userID string) error {
	if s.moderation == nil {
		return nil
	}
	b, ok, err := s.moderation.ActiveRoomBan(ctx, string(id), userID, time.Now())
	if err != nil {
		return err
	}
	if ok && b.Until.IsZero() {
		return fmt.Errorf("%w: you are banned from this room (%s)", account.ErrForbidden, b.Reason)
	}
	return nil
}

func (s *Server) roomUnban(c echo.Context) error {
	r, err := s.moderatedRoom(c)
	if err != nil {
		return writeProblem(c, err)
	}
	target, err := s.removable(c, r, c.Param("name"))
	if err != nil {
		return writeProblem(c, err)
	}
	if err := s.mayLift(c, r, target); err != nil {
		return writeProblem(c, err)
	}
	if err := s.moderation.LiftRoomBan(c.Request().Context(), r.ID, target.ID); err != nil {
		return writeProblem(c, err)
	}
	s.audit(c, "room_unban", r.ID, target.ID, "")
	return c.NoContent(http.StatusNoContent)
}

// mayLift: a moderator lifts only bans that moderators set; what the streamer
// or an admin decided stays until one of them lifts it.
func (s *Server) mayLift(c echo.Context, r store.Room, target store.User) error {
	me := current(c).user
	if me.ID == r.OwnerID || me.Role.AtLeast(store.RoleAdmin) {
		return nil
	}
	ctx := c.Request().Context()
	b, ok, err := s.moderation.ActiveRoomBan(ctx, r.ID, target.ID, time.Now())
	if err != nil || !ok || b.ByID == me.ID {
		return err
	}
	if b.ByID == r.OwnerID {
		return fmt.Errorf("%w: the streamer set this ban; only the streamer or an admin may lift it", account.ErrForbidden)
	}
	by, err := s.records.UsersByID(ctx, []string{b.ByID})
	if err != nil {
		return err
	}
	if u, found := by[b.ByID]; found && u.Role.AtLeast(store.RoleAdmin) {
		return fmt.Errorf("%w: an admin set this ban; only the streamer or an admin may lift it", account.ErrForbidden)
	}
	return nil
}

type auditJSON struct {
	ID       string    `json:"id"`
	At       time.Time `json:"at"`
	ActorID  string    `json:"actor_id"`
	Action   string    `json:"action"`
	RoomID   string    `json:"room,omitempty"`
	TargetID string    `json:"target_id,omitempty"`
	Reason   string    `json:"reason,omitempty"`
}

func (s *Server) auditLog(c echo.Context) error {
	log, err := s.moderation.AuditLog(c.Request().Context(), 200)
	if err != nil {
		return writeProblem(c, err)
	}
	out := make([]auditJSON, 0, len(log))
	for _, e := range log {
		out = append(out, auditJSON(e))
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": out})
}
