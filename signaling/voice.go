package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/onair-live/onair/account"
	"github.com/onair-live/onair/media/voice"
	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/store"
)

// Voice takes voice-message uploads and finds the clips again;
// *voice.Service satisfies it.
type Voice interface {
	Upload(ctx context.Context, up voice.Upload) (voice.Clip, error)
	Clip(ctx context.Context, id string) (voice.Clip, error)
	Open(id string) (*os.File, error)
	MaxBytes() int64
}

// multipartSlack is what a multipart body may hold besides the clip: the
// boundaries and part headers.
const multipartSlack = 16 << 10

// voiceProblems are the refusals of media/voice as HTTP statuses.
var voiceProblems = []struct {
	err    error
	status int
	title  string
}{
	{voice.ErrNotAudio, http.StatusUnsupportedMediaType, "Not a voice clip"},
	{voice.ErrUnsupported, http.StatusUnsupportedMediaType, "Unsupported audio"},
	{voice.ErrDamaged, http.StatusUnprocessableEntity, "Damaged audio"},
	{voice.ErrTooLong, http.StatusUnprocessableEntity, "Voice message too long"},
	{voice.ErrTooBig, http.StatusRequestEntityTooLarge, "Voice message too big"},
	{voice.ErrBusy, http.StatusServiceUnavailable, "Busy"},
	{voice.ErrNotFound, http.StatusNotFound, "Not found"},
}

// voiceAPI serves POST /api/voice and GET /api/voice/{id}.
type voiceAPI struct {
	s *Server
	v Voice
}

// voiceRoutes adds the voice-message routes when the node has voice
// messages and accounts.
func (s *Server) voiceRoutes(api *echo.Group, v Voice) {
	if v == nil || s.records == nil || s.accounts == nil {
		return
	}
	h := voiceAPI{s: s, v: v}
	api.POST("/voice", h.upload, require(store.RoleViewer))
	api.GET("/voice/:id", h.get)
}

func (h voiceAPI) problem(c echo.Context, err error) error {
	for _, row := range voiceProblems {
		if errors.Is(err, row.err) {
			if row.status == http.StatusServiceUnavailable {
				c.Response().Header().Set("Retry-After", "2")
			}
			body, _ := json.Marshal(problem{Title: row.title, Status: row.status, Detail: err.Error()})
			return c.Blob(row.status, "application/problem+json", body)
		}
	}
	return writeProblem(c, err)
}

type clipJSON struct {
	ID         string `json:"id"`
	DurationMS int64  `json:"duration_ms"`
	Bytes      int64  `json:"bytes"`
	URL        string `json:"url"`
	Room       string `json:"room,omitempty"`
	To         string `json:"to,omitempty"`
}

// upload serves POST /api/voice?room=<room> or ?to=<user name>: one clip in
// the multipart field "audio", converted to Ogg/Opus and kept for that room
// or that conversation. The voice message itself is sent next, with the
// clip's id (a `voice` message on the room's channel, or POST /api/dm/{name}).
func (h voiceAPI) upload(c echo.Context) error {
	ctx := c.Request().Context()
	me := current(c).user
	scope, out, err := h.scope(c, me)
	if err != nil {
		return h.problem(c, err)
	}
	r := c.Request()
	limit := h.v.MaxBytes()
	if r.ContentLength > limit+multipartSlack { // refused before a byte is read
		return h.problem(c, voice.TooBig(r.ContentLength, limit))
	}
	r.Body = http.MaxBytesReader(c.Response(), r.Body, limit+multipartSlack)
	part, err := audioPart(r)
	if err != nil {
		return h.problem(c, err)
	}
	clip, err := h.v.Upload(ctx, voice.Upload{Owner: me.ID, Scope: scope, Filename: part.FileName(), ContentType: part.Header.Get("Content-Type"),
		Body: tooBigReader{part}})
	if err != nil {
		return h.problem(c, err)
	}
	out.ID, out.DurationMS, out.Bytes, out.URL = clip.ID, clip.Duration.Milliseconds(), clip.Bytes, "/api/voice/"+clip.ID
	return c.JSON(http.StatusCreated, out)
}

// scope reads where a clip goes and checks that me may send it there: a
// room that does not ban me, or a user who does not block me.
func (h voiceAPI) scope(c echo.Context, me store.User) (voice.Scope, clipJSON, error) {
	ctx := c.Request().Context()
	roomParam, to := c.QueryParam("room"), c.QueryParam("to")
	switch {
	case (roomParam == "") == (to == ""):
		return voice.Scope{}, clipJSON{}, fmt.Errorf("%w: say where the voice message goes: ?room=<room> or ?to=<user name>", ErrBadRequest)
	case roomParam != "":
		id, err := room.ParseID(roomParam)
		if err != nil {
			return voice.Scope{}, clipJSON{}, err
		}
		if err := h.s.bannedFrom(ctx, id, me.ID); err != nil {
			return voice.Scope{}, clipJSON{}, err
		}
		return voice.Scope{Kind: voice.ScopeRoom, ID: string(id)}, clipJSON{Room: string(id)}, nil
	}
	other, err := h.s.records.UserByName(ctx, to)
	if err != nil {
		return voice.Scope{}, clipJSON{}, err
	}
	if other.ID == me.ID {
		return voice.Scope{}, clipJSON{}, fmt.Errorf("%w: you cannot message yourself", ErrBadRequest)
	}
	if h.s.messages == nil {
		return voice.Scope{}, clipJSON{}, fmt.Errorf("%w: private messages are off on this server", store.ErrNotFound)
	}
	if blocked, err := h.s.messages.IsBlocked(ctx, other.ID, me.ID); err != nil {
		return voice.Scope{}, clipJSON{}, err
	} else if blocked {
		return voice.Scope{}, clipJSON{}, room.ErrBlockedByUser
	}
	return voice.Scope{Kind: voice.ScopeDM, ID: other.ID}, clipJSON{To: other.Name}, nil
}

// audioPart finds the multipart field "audio", the first file of the body.
func audioPart(r *http.Request) (*multipart.Part, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if mt != "multipart/form-data" {
		return nil, fmt.Errorf("%w: send the clip as multipart/form-data in a field named audio (got %q)", ErrBadMediaType, mt)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: no field named audio in the form", ErrBadRequest)
		}
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, voice.TooBig(mb.Limit+1, mb.Limit-multipartSlack)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: the form cannot be read: %v", ErrBadRequest, err)
		}
		if p.FormName() == "audio" {
			return p, nil
		}
	}
}

// tooBigReader says a body cut by http.MaxBytesReader is too big in voice's
// terms.
type tooBigReader struct{ r io.Reader }

func (t tooBigReader) Read(b []byte) (int, error) {
	n, err := t.r.Read(b)
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		err = fmt.Errorf("%w: %w", voice.ErrTooBig, err)
	}
	return n, err
}

// get serves GET /api/voice/{id}: the clip as audio/ogg, with range requests,
// to who may hear it: anyone who may read its room (a private room's only
// when logged in), or the two people of its conversation.
func (h voiceAPI) get(c echo.Context) error {
	ctx := c.Request().Context()
	clip, err := h.v.Clip(ctx, c.Param("id"))
	if err != nil {
		return h.problem(c, err)
	}
	if err := h.mayHear(ctx, current(c), clip); err != nil {
		return h.problem(c, err)
	}
	f, err := h.v.Open(clip.ID)
	if err != nil {
		return h.problem(c, err)
	}
	defer f.Close()
	hdr := c.Response().Header()
	hdr.Set(echo.HeaderContentType, "audio/ogg")
	hdr.Set("X-Content-Type-Options", "nosniff")
	// A clip never changes; who may hear it is checked on every request, so
	// only the listener's own browser keeps it.
	hdr.Set("Cache-Control", "private, max-age=86400, immutable")
	hdr.Set("ETag", strconv.Quote(clip.ID))
	http.ServeContent(c.Response(), c.Request(), "", clip.CreatedAt, f)
	return nil
}

func (h voiceAPI) mayHear(ctx context.Context, p *principal, clip voice.Clip) error {
	switch clip.Scope.Kind {
	case voice.ScopeRoom:
		r, err := h.s.records.RoomByID(ctx, clip.Scope.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) { // a room without a record is public
			return err
		}
		if p == nil {
			if err == nil && r.Private {
				return fmt.Errorf("%w: log in to hear the voice messages of a private room", account.ErrUnauthenticated)
			}
			return nil
		}
		return h.s.bannedFrom(ctx, room.ID(clip.Scope.ID), p.user.ID)
	case voice.ScopeDM:
		if p == nil {
			return fmt.Errorf("%w: log in to hear your private voice messages", account.ErrUnauthenticated)
		}
		if p.user.ID != clip.Owner && p.user.ID != clip.Scope.ID {
			return fmt.Errorf("%w: this voice message is between two other people", account.ErrForbidden)
		}
		return nil
	}
	return fmt.Errorf("voice clip %s has scope %q", clip.ID, clip.Scope.Kind)
}
