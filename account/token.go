package account

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/onair-live/onair/store"
)

// Claims are what a session token says about its holder.
type Claims struct {
	UserID   string     `json:"sub"`
	Name     string     `json:"name"`
	Role     store.Role `json:"role"`
	ID       string     `json:"jti"`
	IssuedAt time.Time  `json:"-"`
	Expires  time.Time  `json:"-"`
}

type jwtClaims struct {
	Name string     `json:"name"`
	Role store.Role `json:"role"`
	// IssuedMS is iat in milliseconds: "log out everywhere" must not also cut a
	// session started later in the same second.
	IssuedMS int64 `json:"iat_ms"`
	jwt.RegisteredClaims
}

const issuer = "onair"

func newTokenID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// sign issues an HS256 token for u valid for ttl.
func sign(secret []byte, u store.User, now time.Time, ttl time.Duration) (string, Claims, error) {
	c := Claims{UserID: u.ID, Name: u.Name, Role: u.Role, ID: newTokenID(), IssuedAt: now.Truncate(time.Millisecond), Expires: now.Add(ttl).Truncate(time.Second)}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwtClaims{Name: u.Name, Role: u.Role, IssuedMS: c.IssuedAt.UnixMilli(), RegisteredClaims: jwt.RegisteredClaims{
		Issuer: issuer, Subject: u.ID, ID: c.ID,
		IssuedAt: jwt.NewNumericDate(c.IssuedAt), ExpiresAt: jwt.NewNumericDate(c.Expires),
	}})
	s, err := tok.SignedString(secret)
	return s, c, err
}

// parse checks the signature, algorithm, issuer and expiry of a token.
func parse(secret []byte, token string, now time.Time) (Claims, error) {
	var jc jwtClaims
	_, err := jwt.ParseWithClaims(token, &jc, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return Claims{}, fmt.Errorf("%w: it has expired; log in again", ErrTokenInvalid)
		}
		return Claims{}, fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	}
	if jc.Subject == "" || jc.ID == "" || jc.IssuedAt == nil {
		return Claims{}, fmt.Errorf("%w: incomplete claims", ErrTokenInvalid)
	}
	issued := jc.IssuedAt.Time
	if jc.IssuedMS > 0 {
		issued = time.UnixMilli(jc.IssuedMS)
	}
	return Claims{UserID: jc.Subject, Name: jc.Name, Role: jc.Role, ID: jc.ID, IssuedAt: issued, Expires: jc.ExpiresAt.Time}, nil
}
