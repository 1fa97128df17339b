package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"time"

	"github.com/onair-live/onair/store"
)

// Store is what accounts need from the system of record; *store.DB satisfies it.
type Store interface {
	CreateUser(ctx context.Context, u store.NewUser) (store.User, error)
	UserByID(ctx context.Context, id string) (store.User, error)
	UserByName(ctx context.Context, name string) (store.User, error)
	SetStreamKeyHash(ctx context.Context, userID string, hash []byte) error
	UserByStreamKeyHash(ctx context.Context, hash []byte) (store.User, error)
	RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error
	IsRevoked(ctx context.Context, jti string) (bool, error)
	TokensValidAfter(ctx context.Context, userID string) (time.Time, error)
	Settings(ctx context.Context) (store.Settings, error)
}

// Limiter is a token bucket per key shared by all nodes (room.Limiter satisfies it).
type Limiter interface {
	Allow(ctx context.Context, key string, rate float64, burst int) (bool, time.Duration, error)
}

// Config tunes accounts. Zero values mean the defaults.
type Config struct {
	// TokenTTL is how long a session token is valid.
	TokenTTL time.Duration `yaml:"token_ttl"`
	// LoginBurst failed-or-not attempts are allowed per account and per address,
	// refilled at LoginPerMinute.
	LoginBurst     int     `yaml:"login_burst"`
	LoginPerMinute float64 `yaml:"login_per_minute"`
}

func (c Config) withDefaults() Config {
	if c.TokenTTL == 0 {
		c.TokenTTL = 7 * 24 * time.Hour
	}
	if c.LoginBurst == 0 {
		c.LoginBurst = 10
	}
	if c.LoginPerMinute == 0 {
		c.LoginPerMinute = 5
	}
	return c
}

// Service signs users up and in, checks their tokens and their stream keys.
type Service struct {
	st     Store
	lim    Limiter
	secret []byte
	cfg    Config
	now    func() time.Time
	// hashing bounds concurrent argon2id runs (19 MiB each), so a flood of
	// logins cannot exhaust memory.
	hashing chan struct{}
}

// New returns a Service that signs tokens with secret (at least 32 bytes).
func New(st Store, lim Limiter, secret []byte, cfg Config) (*Service, error) {
	if len(secret) < 32 {
		return nil, errors.New("account: the token secret needs at least 32 bytes")
	}
	return &Service{st: st, lim: lim, secret: secret, cfg: cfg.withDefaults(), now: time.Now,
		hashing: make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))}, nil
}

// ValidName reports whether name is a valid login handle ([a-z0-9_-]{3,32}).
func ValidName(name string) error {
	if len(name) < 3 || len(name) > 32 {
		return ErrBadName
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return ErrBadName
		}
	}
	return nil
}

// Session is a logged-in user and their token.
type Session struct {
	User   store.User
	Token  string
	Claims Claims
}

// Signup creates a viewer account and logs it in.
func (s *Service) Signup(ctx context.Context, name, password, ip string) (Session, error) {
	if err := ValidName(name); err != nil {
		return Session{}, err
	}
	if len(password) < 8 || len(password) > 256 {
		return Session{}, ErrWeakPassword
	}
	if err := s.limit(ctx, "signup:ip:"+ip, 1); err != nil {
		return Session{}, err
	}
	u, err := s.CreateUser(ctx, name, name, password, store.RoleViewer)
	if err != nil {
		return Session{}, err
	}
	return s.issue(u)
}

// CreateUser makes an account with a role (operators, tests, sign-up).
func (s *Service) CreateUser(ctx context.Context, name, displayName, password string, role store.Role) (store.User, error) {
	if err := ValidName(name); err != nil {
		return store.User{}, err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return store.User{}, err
	}
	u, err := s.st.CreateUser(ctx, store.NewUser{Name: name, DisplayName: displayName, PasswordHash: hash, Role: role})
	if errors.Is(err, store.ErrNameTaken) {
		return store.User{}, fmt.Errorf("%w: %q", ErrNameTaken, name)
	}
	return u, err
}

// Login checks a password. Attempts are rate-limited per address, per account
// from that address (so nobody elsewhere can lock the owner out) and, more
// generously, per account from everywhere (so guessing from many addresses is
// slow too).
func (s *Service) Login(ctx context.Context, name, password, ip string) (Session, error) {
	name = strings.ToLower(name)
	if ValidName(name) != nil || len(password) > 256 {
		return Session{}, ErrBadCredentials
	}
	for _, key := range []string{"login:ip:" + ip, "login:user:" + name + ":ip:" + ip} {
		if err := s.limit(ctx, key, 1); err != nil {
			return Session{}, err
		}
	}
	if err := s.limit(ctx, "login:user:"+name, 10); err != nil {
		return Session{}, err
	}
	u, err := s.st.UserByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		// Hash anyway so a missing account takes as long as a wrong password.
		_, _ = s.checkPassword(ctx, dummyHash, password)
		return Session{}, ErrBadCredentials
	}
	if err != nil {
		return Session{}, err
	}
	ok, err := s.checkPassword(ctx, u.PasswordHash, password)
	if errors.Is(err, ErrBusy) {
		return Session{}, err
	}
	if err != nil || !ok {
		return Session{}, ErrBadCredentials
	}
	if u.Banned {
		return Session{}, fmt.Errorf("%w: %s", ErrBanned, reason(u))
	}
	return s.issue(u)
}

var dummyHash, _ = HashPassword("not a password anyone has")

// hashWait is how long a login waits for a free hashing slot before the server
// answers that it is busy.
const hashWait = 3 * time.Second

func (s *Service) withHashSlot(ctx context.Context, f func()) error {
	t := time.NewTimer(hashWait)
	defer t.Stop()
	select {
	case s.hashing <- struct{}{}:
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.hashing }()
	f()
	return nil
}

func (s *Service) checkPassword(ctx context.Context, hash, password string) (ok bool, err error) {
	if e := s.withHashSlot(ctx, func() { ok, err = CheckPassword(hash, password) }); e != nil {
		return false, e
	}
	return ok, err
}

func (s *Service) hashPassword(ctx context.Context, password string) (hash string, err error) {
	if e := s.withHashSlot(ctx, func() { hash, err = HashPassword(password) }); e != nil {
		return "", e
	}
	return hash, err
}

func reason(u store.User) string {
	if u.BanReason != "" {
		return u.BanReason
	}
	return "no reason given"
}

// limit takes a token from key's bucket; scale multiplies the configured rate
// and burst.
func (s *Service) limit(ctx context.Context, key string, scale int) error {
	if s.lim == nil {
		return nil
	}
	ok, retry, err := s.lim.Allow(ctx, key, float64(scale)*s.cfg.LoginPerMinute/60, scale*s.cfg.LoginBurst)
	if err != nil {
		return err
	}
	if !ok {
		return &RateLimitError{RetryAfterSeconds: max(1, int(retry.Seconds()+0.999))}
	}
	return nil
}

func (s *Service) issue(u store.User) (Session, error) {
	tok, c, err := sign(s.secret, u, s.now(), s.cfg.TokenTTL)
	if err != nil {
		return Session{}, err
	}
	return Session{User: u, Token: tok, Claims: c}, nil
}

// Verify checks a session token: signature, expiry, revocation, and that the
// user still exists and is not banned. The user's current role is returned, so a
// demotion takes effect at once.
func (s *Service) Verify(ctx context.Context, token string) (store.User, Claims, error) {
	if token == "" {
		return store.User{}, Claims{}, ErrUnauthenticated
	}
	c, err := parse(s.secret, token, s.now())
	if err != nil {
		return store.User{}, Claims{}, err
	}
	revoked, err := s.st.IsRevoked(ctx, c.ID)
	if err != nil {
		return store.User{}, Claims{}, err
	}
	if revoked {
		return store.User{}, Claims{}, fmt.Errorf("%w: it was revoked; log in again", ErrTokenInvalid)
	}
	after, err := s.st.TokensValidAfter(ctx, c.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, Claims{}, fmt.Errorf("%w: the account no longer exists", ErrTokenInvalid)
	}
	if err != nil {
		return store.User{}, Claims{}, err
	}
	if c.IssuedAt.Before(after) {
		return store.User{}, Claims{}, fmt.Errorf("%w: it was revoked; log in again", ErrTokenInvalid)
	}
	u, err := s.st.UserByID(ctx, c.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, Claims{}, fmt.Errorf("%w: the account no longer exists", ErrTokenInvalid)
	}
	if err != nil {
		return store.User{}, Claims{}, err
	}
	if u.Banned {
		return store.User{}, Claims{}, fmt.Errorf("%w: %s", ErrBanned, reason(u))
	}
	return u, c, nil
}

// Logout revokes one token until it would have expired anyway.
func (s *Service) Logout(ctx context.Context, c Claims) error {
	return s.st.RevokeToken(ctx, c.ID, c.Expires)
}

// hashKey is how stream keys are stored: keys are 256-bit random, so one SHA-256
// pass is enough (unlike passwords, they cannot be guessed from a dictionary).
func hashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// RotateStreamKey gives a streamer a new stream key; the old one stops working.
// The key is returned once and only its hash is kept.
func (s *Service) RotateStreamKey(ctx context.Context, userID string) (string, error) {
	u, err := s.st.UserByID(ctx, userID)
	if err != nil {
		return "", err
	}
	if !u.Role.AtLeast(store.RoleStreamer) {
		return "", fmt.Errorf("%w: only streamers have stream keys", ErrForbidden)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	key := "sk_" + base64.RawURLEncoding.EncodeToString(b[:])
	if err := s.st.SetStreamKeyHash(ctx, userID, hashKey(key)); err != nil {
		return "", err
	}
	return key, nil
}

// PublishIdentity decides whether key may publish to room: it must be the stream
// key of the room's owner, who must not be banned and must meet the platform's
// broadcast settings. The identity is the streamer's name.
func (s *Service) PublishIdentity(ctx context.Context, room, key string, _ net.IP) (string, error) {
	if key == "" {
		return "", ErrNoStreamKey
	}
	u, err := s.st.UserByStreamKeyHash(ctx, hashKey(key))
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrWrongStreamKey
	}
	if err != nil {
		return "", err
	}
	if u.Name != room {
		return "", fmt.Errorf("%w: it belongs to room %q", ErrWrongStreamKey, u.Name)
	}
	if u.Banned {
		return "", fmt.Errorf("%w: %s", ErrBanned, reason(u))
	}
	set, err := s.st.Settings(ctx)
	if err != nil {
		return "", err
	}
	if set.BroadcastRequiresVerified && !u.Verified {
		return "", fmt.Errorf("%w: going live needs a verified identity", ErrForbidden)
	}
	if u.Level < set.BroadcastMinLevel {
		return "", fmt.Errorf("%w: going live needs level %d (you are level %d)", ErrForbidden, set.BroadcastMinLevel, u.Level)
	}
	return u.Name, nil
}
