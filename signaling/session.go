package signaling

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/onair-live/onair/account"
	"github.com/onair-live/onair/store"
)

// Accounts is what the edge needs from the account service.
type Accounts interface {
	Signup(ctx context.Context, name, password, ip string) (account.Session, error)
	Login(ctx context.Context, name, password, ip string) (account.Session, error)
	Verify(ctx context.Context, token string) (store.User, account.Claims, error)
	Logout(ctx context.Context, c account.Claims) error
	RotateStreamKey(ctx context.Context, userID string) (string, error)
}

const sessionCookie = "onair_session"

type principal struct {
	user   store.User
	claims account.Claims
}

const principalKey = "onair.principal"

// authenticate reads the session from the Bearer token or the cookie. A request
// without one is anonymous. A bad Bearer token is refused (the client sent it on
// purpose); a stale cookie is cleared and the request goes on anonymously, so an
// expired login never breaks public pages.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token := bearer(c.Request().Header.Get(echo.HeaderAuthorization))
		fromCookie := false
		if token == "" {
			if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
				token, fromCookie = ck.Value, true
			}
		}
		if token == "" || s.accounts == nil {
			return next(c)
		}
		u, claims, err := s.accounts.Verify(c.Request().Context(), token)
		if err != nil && fromCookie && (errors.Is(err, account.ErrTokenInvalid) || errors.Is(err, account.ErrBanned)) {
			clearCookie(c)
			return next(c)
		}
		if err != nil {
			return writeProblem(c, err)
		}
		c.Set(principalKey, &principal{user: u, claims: claims})
		return next(c)
	}
}

func current(c echo.Context) *principal {
	p, _ := c.Get(principalKey).(*principal)
	return p
}

// require is the one place roles are checked: it refuses anonymous requests with
// 401 and users below min with 403.
func require(min store.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := current(c)
			if p == nil {
				return writeProblem(c, account.ErrUnauthenticated)
			}
			if !p.user.Role.AtLeast(min) {
				return writeProblem(c, account.ErrForbidden)
			}
			return next(c)
		}
	}
}

// canManageRoom: a room's owner, or an admin.
func canManageRoom(p *principal, r store.Room) bool {
	return p != nil && (p.user.ID == r.OwnerID || p.user.Role.AtLeast(store.RoleAdmin))
}

func setSessionCookie(c echo.Context, token string, expires time.Time) {
	c.SetCookie(&http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.Scheme() == "https",
	})
}

func clearCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}
