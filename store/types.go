package store

import "time"

// Role is what a user may do on the platform. Each role includes the ones
// before it: viewer < streamer < admin < superadmin.
type Role string

// The roles, lowest first.
const (
	RoleViewer     Role = "viewer"
	RoleStreamer   Role = "streamer"
	RoleAdmin      Role = "admin"
	RoleSuperadmin Role = "superadmin"
)

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleStreamer:
		return 2
	case RoleAdmin:
		return 3
	case RoleSuperadmin:
		return 4
	}
	return 0
}

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// AtLeast reports whether r is a valid role that includes min.
func (r Role) AtLeast(min Role) bool { return r.Valid() && r.rank() >= min.rank() }

// User is an account. A streamer or higher owns the room whose ID is Name.
type User struct {
	ID           string // ULID
	Name         string // login handle, unique case-insensitively
	DisplayName  string
	Role         Role
	PasswordHash string // encoded by the caller (PHC string); empty if none
	Banned       bool
	BanReason    string // empty unless Banned
	Verified     bool
	Level        int
	CreatedAt    time.Time // UTC, millisecond precision
}

// NewUser is what [DB.CreateUser] needs. An empty Role means RoleViewer.
type NewUser struct {
	Name         string
	DisplayName  string
	PasswordHash string
	Role         Role
}

// Room is a streamer's room. Its ID is the owner's name.
type Room struct {
	ID        string
	OwnerID   string
	Title     string
	CoverURL  string
	Category  string
	Private   bool
	UpdatedAt time.Time
	// Chat rules: one message per SlowModeSeconds per user (0: off), only
	// followers may chat, accounts younger than MinAccountAgeMinutes may not.
	SlowModeSeconds      int
	FollowersOnly        bool
	MinAccountAgeMinutes int
}

// RoomPatch changes the fields of a room that are not nil.
type RoomPatch struct {
	Title                *string
	CoverURL             *string
	Category             *string
	Private              *bool
	SlowModeSeconds      *int
	FollowersOnly        *bool
	MinAccountAgeMinutes *int
}

func (p RoomPatch) empty() bool {
	return p.Title == nil && p.CoverURL == nil && p.Category == nil && p.Private == nil &&
		p.SlowModeSeconds == nil && p.FollowersOnly == nil && p.MinAccountAgeMinutes == nil
}

// Broadcast is one live session of a room, from the first publish to the end.
type Broadcast struct {
	ID           string // ULID with the start time
	RoomID       string
	StartedAt    time.Time
	EndedAt      *time.Time // nil while live
	PeakViewers  int
	TotalViewers int
}

// Settings are the platform-wide switches an admin changes at run time.
type Settings struct {
	// BroadcastRequiresVerified: only verified users may publish.
	BroadcastRequiresVerified bool
	// BroadcastMinLevel: the least level a user needs to publish.
	BroadcastMinLevel int
}

// DefaultSettings are the settings of a platform where none were stored:
// anyone with a stream key may publish.
func DefaultSettings() Settings { return Settings{} }
