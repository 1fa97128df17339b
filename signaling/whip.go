package signaling

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/onair-live/onair/account"
	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/sfu"
	"github.com/onair-live/onair/store"
)

// maxBody caps SDP offers and trickle fragments.
const maxBody = 64 << 10

// Media is what the edge needs from the media plane; *sfu.SFU satisfies it.
type Media interface {
	Publish(ctx context.Context, room, identity, offer string) (*sfu.Session, string, error)
	Subscribe(ctx context.Context, room, identity, offer string) (*sfu.Session, string, error)
	Session(id string) (*sfu.Session, error)
	ICEServers() []sfu.ICEServer
	// Kick ends a publisher's stream in a room at once, with no grace period.
	Kick(room, identity string)
}

// resource serves one of the two RFC 9725 endpoints: WHIP for publishers, WHEP for
// viewers. They differ only in who may POST and which sfu call takes the offer.
type resource struct {
	prefix string // "/whip" or "/whep"
	role   sfu.Role
	media  Media
	keys   KeyChecker
	// records and accounts, when set, make private rooms need a logged-in viewer.
	records     Records
	accounts    Accounts
	interaction Interaction
	// local and banned, when set, let moderators remove viewers from the stream.
	local  *sessions
	banned func(ctx context.Context, id room.ID, userID string) error
	// negotiateTimeout bounds ICE gathering for the answer.
	negotiateTimeout time.Duration
}

func (r *resource) routes(e *echo.Echo) {
	e.OPTIONS(r.prefix+"/:room", r.options)
	e.POST(r.prefix+"/:room", r.post)
	e.OPTIONS(r.prefix+"/:room/:session", r.options)
	e.PATCH(r.prefix+"/:room/:session", r.patch)
	e.DELETE(r.prefix+"/:room/:session", r.delete)
	if r.role == sfu.RoleSubscriber {
		e.OPTIONS(r.prefix+"/:room/:session/layer", r.options)
		e.POST(r.prefix+"/:room/:session/layer", r.layer)
	}
}

func setCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, PATCH, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
	h.Set("Access-Control-Expose-Headers", "Location, ETag, Link, Accept-Patch")
}

// linkHeaders advertises the ICE servers as RFC 9725 §4.6 Link headers.
func (r *resource) linkHeaders(h http.Header) {
	for _, s := range r.media.ICEServers() {
		for _, u := range s.URLs {
			v := fmt.Sprintf(`<%s>; rel="ice-server"`, u)
			if s.Username != "" {
				v += fmt.Sprintf(`; username=%q; credential=%q; credential-type="password"`, s.Username, s.Credential)
			}
			h.Add("Link", v)
		}
	}
}

func (r *resource) options(c echo.Context) error {
	h := c.Response().Header()
	setCORS(h)
	h.Set("Accept-Post", "application/sdp")
	h.Set("Accept-Patch", "application/trickle-ice-sdpfrag")
	r.linkHeaders(h)
	return c.NoContent(http.StatusNoContent)
}

// readBody enforces the content type and the size cap.
func readBody(c echo.Context, wantType string) (string, error) {
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if err != nil || mt != wantType {
		got := c.Request().Header.Get(echo.HeaderContentType)
		if got == "" {
			got = "none"
		}
		return "", fmt.Errorf("%w: send Content-Type: %s (got %s)", ErrBadMediaType, wantType, got)
	}
	b, err := io.ReadAll(io.LimitReader(c.Request().Body, maxBody+1))
	if err != nil {
		return "", fmt.Errorf("%w: %v", sfu.ErrBadOffer, err)
	}
	if len(b) > maxBody {
		return "", fmt.Errorf("%w: the limit is %d KiB", ErrBodyTooLarge, maxBody>>10)
	}
	return string(b), nil
}

func remoteIP(c echo.Context) net.IP {
	host, _, err := net.SplitHostPort(c.Request().RemoteAddr)
	if err != nil {
		return nil
	}
	return net.ParseIP(host)
}

func (r *resource) post(c echo.Context) error {
	setCORS(c.Response().Header())
	id, err := room.ParseID(c.Param("room"))
	if err != nil {
		return writeProblem(c, err)
	}
	offer, err := readBody(c, "application/sdp")
	if err != nil {
		return writeProblem(c, err)
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), r.negotiateTimeout)
	defer cancel()
	key := bearer(c.Request().Header.Get(echo.HeaderAuthorization))
	var (
		sess   *sfu.Session
		answer string
	)
	if r.role == sfu.RolePublisher {
		identity, err := r.keys.PublishIdentity(ctx, string(id), key, remoteIP(c))
		if err != nil {
			return writeProblem(c, err)
		}
		sess, answer, err = r.media.Publish(ctx, string(id), identity, offer)
		if err != nil {
			return writeProblem(c, err)
		}
		if r.interaction != nil {
			// The studio chats on its WHIP session's channel as the user of its
			// session cookie (the Bearer here is the stream key, not a token);
			// OBS and other tools without a cookie only read.
			r.attachChannel(sess, id, r.sender(c, ""))
		}
	} else {
		if err := r.checkPrivate(c, string(id), key); err != nil {
			return writeProblem(c, err)
		}
		from := r.sender(c, key)
		if from != nil && r.banned != nil {
			if err := r.banned(ctx, id, from.ID); err != nil {
				return writeProblem(c, err)
			}
		}
		identity := ""
		if key != "" {
			// A co-host's own key hides its own tracks; a wrong key just watches.
			identity, _ = r.keys.PublishIdentity(ctx, string(id), key, remoteIP(c))
		}
		sess, answer, err = r.media.Subscribe(ctx, string(id), identity, offer)
		if err != nil {
			return writeProblem(c, err)
		}
		if r.interaction != nil {
			r.attachChannel(sess, id, from)
		}
		if from != nil && r.local != nil {
			remove := r.local.add(id, from.ID, func() { _ = sess.Close() })
			go func() { <-sess.Done(); remove() }()
		}
	}
	h := c.Response().Header()
	h.Set(echo.HeaderLocation, fmt.Sprintf("%s/%s/%s", r.prefix, id, sess.ID))
	h.Set("ETag", sess.ETag())
	h.Set("Accept-Patch", "application/trickle-ice-sdpfrag")
	r.linkHeaders(h)
	if r.role == sfu.RoleSubscriber {
		h.Add("Link", fmt.Sprintf(`<%s/%s/%s/layer>; rel=%q`, r.prefix, id, sess.ID, layerRel))
	}
	return c.Blob(http.StatusCreated, "application/sdp", []byte(answer))
}

// session finds the session named by the URL, refusing one of the other endpoint or
// another room so a URL cannot be reused across them.
func (r *resource) session(c echo.Context) (*sfu.Session, error) {
	sess, err := r.media.Session(c.Param("session"))
	if err != nil {
		return nil, err
	}
	if sess.Role != r.role || sess.Room != c.Param("room") {
		return nil, fmt.Errorf("%w: %s is not a session of %s/%s", ErrSessionGone, c.Param("session"), r.prefix, c.Param("room"))
	}
	return sess, nil
}

func (r *resource) patch(c echo.Context) error {
	setCORS(c.Response().Header())
	sess, err := r.session(c)
	if err != nil {
		return writeProblem(c, err)
	}
	frag, err := readBody(c, "application/trickle-ice-sdpfrag")
	if err != nil {
		return writeProblem(c, err)
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), r.negotiateTimeout)
	defer cancel()
	answer, etag, err := sess.Patch(ctx, c.Request().Header.Get("If-Match"), frag)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w: ICE gathering timed out", sfu.ErrBadCandidate)
		}
		return writeProblem(c, err)
	}
	c.Response().Header().Set("ETag", etag)
	if answer == "" {
		return c.NoContent(http.StatusNoContent)
	}
	return c.Blob(http.StatusOK, "application/trickle-ice-sdpfrag", []byte(strings.TrimSpace(answer)+"\r\n"))
}

func (r *resource) delete(c echo.Context) error {
	setCORS(c.Response().Header())
	sess, err := r.session(c)
	if err != nil {
		return writeProblem(c, err)
	}
	_ = sess.Close()
	return c.NoContent(http.StatusOK)
}

// checkPrivate lets anyone watch a public room, and only a logged-in user (Bearer
// session token or the session cookie) watch a private one.
func (r *resource) checkPrivate(c echo.Context, id, token string) error {
	if r.records == nil || r.accounts == nil {
		return nil
	}
	ctx := c.Request().Context()
	rec, err := r.records.RoomByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil // a room with no record (dev mode) is public
	}
	if err != nil {
		return err
	}
	if !rec.Private {
		return nil
	}
	// The Bearer token may be a session (a player) or a co-host's stream key;
	// the browser's session cookie is the other way in.
	if token != "" {
		if _, _, err := r.accounts.Verify(ctx, token); err == nil {
			return nil
		}
	}
	if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
		_, _, err := r.accounts.Verify(ctx, ck.Value)
		return err
	}
	return fmt.Errorf("%w: this room is private; log in to watch", account.ErrUnauthenticated)
}
