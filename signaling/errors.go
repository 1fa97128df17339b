package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/onair-live/onair/account"
	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/board"
	"github.com/onair-live/onair/economy/gift"
	"github.com/onair-live/onair/economy/payment"
	"github.com/onair-live/onair/economy/redpacket"
	"github.com/onair-live/onair/economy/settings"
	"github.com/onair-live/onair/economy/wallet"
	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/sfu"
	"github.com/onair-live/onair/store"
)

// Edge errors that have no home in a domain package.
var (
	ErrNoKey          = errors.New("publishing needs a stream key: send it as Authorization: Bearer <key>")
	ErrWrongKey       = errors.New("this stream key is not valid for this room")
	ErrBodyTooLarge   = errors.New("the request body is too large")
	ErrBadMediaType   = errors.New("unsupported content type")
	ErrSessionGone    = errors.New("no such session")
	ErrMissingIfMatch = errors.New("missing If-Match")
)

// problem is an RFC 9457 problem details body.
type problem struct {
	Type   string `json:"type,omitempty"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// statusTable maps domain and edge errors to HTTP status codes and titles; the first
// match wins.
var statusTable = []struct {
	err    error
	status int
	title  string
	detail string // replaces the error text where that means nothing to a person
}{
	{room.ErrBadID, http.StatusBadRequest, "Bad room name", ""},
	{sfu.ErrBadOffer, http.StatusBadRequest, "Bad SDP offer", ""},
	{sfu.ErrBadLayer, http.StatusBadRequest, "No such layer", ""},
	{sfu.ErrBadCandidate, http.StatusBadRequest, "Bad ICE fragment", ""},
	{sfu.ErrNoCommonCodec, http.StatusNotAcceptable, "No codec in common", ""},
	{sfu.ErrNotLive, http.StatusNotFound, "Room is not live", ""},
	{sfu.ErrSessionNotFound, http.StatusNotFound, "Session not found", ""},
	{ErrSessionGone, http.StatusNotFound, "Session not found", ""},
	{sfu.ErrETagMismatch, http.StatusPreconditionFailed, "ICE session changed", ""},
	{sfu.ErrStageFull, http.StatusConflict, "Stage is full", ""},
	{sfu.ErrClosed, http.StatusServiceUnavailable, "Server is shutting down", ""},
	{context.DeadlineExceeded, http.StatusServiceUnavailable, "Timed out", "the server took too long to answer (ICE gathering); try again"},
	{context.Canceled, 499, "Request cancelled", "the request was cancelled"},
	{ErrNoKey, http.StatusUnauthorized, "Stream key required", ""},
	{account.ErrNoStreamKey, http.StatusUnauthorized, "Stream key required", "publishing needs the room's stream key: send it as Authorization: Bearer <key>"},
	{account.ErrWrongStreamKey, http.StatusForbidden, "Stream key rejected", ""},
	{account.ErrBanned, http.StatusForbidden, "Banned", ""},
	{account.ErrUnauthenticated, http.StatusUnauthorized, "Login required", "log in first"},
	{account.ErrTokenInvalid, http.StatusUnauthorized, "Session expired", ""},
	{account.ErrBadCredentials, http.StatusUnauthorized, "Login failed", ""},
	{account.ErrForbidden, http.StatusForbidden, "Forbidden", ""},
	{account.ErrRateLimited, http.StatusTooManyRequests, "Too many attempts", ""},
	{account.ErrBusy, http.StatusServiceUnavailable, "Busy", ""},
	{account.ErrBadName, http.StatusBadRequest, "Bad name", ""},
	{account.ErrWeakPassword, http.StatusBadRequest, "Weak password", ""},
	{account.ErrNameTaken, http.StatusConflict, "Name taken", ""},
	{store.ErrNotFound, http.StatusNotFound, "Not found", ""},
	{store.ErrConflict, http.StatusConflict, "Conflict", ""},
	{store.ErrInvalid, http.StatusBadRequest, "Invalid value", ""},
	{room.ErrBlockedByUser, http.StatusForbidden, "Blocked", ""},
	{room.ErrEmpty, http.StatusBadRequest, "Empty message", ""},
	{room.ErrTooLong, http.StatusBadRequest, "Message too long", ""},
	{room.ErrSlowDown, http.StatusTooManyRequests, "Slow down", ""},
	{payment.ErrBadSignature, http.StatusUnauthorized, "Bad signature", ""},
	{payment.ErrStaleTimestamp, http.StatusBadRequest, "Stale callback", ""},
	{payment.ErrFutureTimestamp, http.StatusBadRequest, "Callback from the future", ""},
	{payment.ErrMalformed, http.StatusBadRequest, "Malformed callback", ""},
	{payment.ErrReplay, http.StatusConflict, "Callback already taken", ""},
	{payment.ErrUnknownOrder, http.StatusNotFound, "Unknown order", ""},
	{payment.ErrOrderMismatch, http.StatusConflict, "Order mismatch", ""},
	{payment.ErrAmountMismatch, http.StatusConflict, "Amount mismatch", ""},
	{payment.ErrCurrencyMismatch, http.StatusConflict, "Currency mismatch", ""},
	{payment.ErrBadTransition, http.StatusConflict, "Order state conflict", ""},
	{payment.ErrBadToken, http.StatusNotFound, "Checkout expired", ""},
	{wallet.ErrBadRequest, http.StatusBadRequest, "Bad request", ""},
	{wallet.ErrUnknownPackage, http.StatusBadRequest, "Unknown package", ""},
	{wallet.ErrUnknownProvider, http.StatusNotFound, "Unknown payment provider", ""},
	{wallet.ErrNotFound, http.StatusNotFound, "Not found", ""},
	{wallet.ErrKeyReused, http.StatusConflict, "Idempotency key reused", ""},
	{wallet.ErrBelowMinimum, http.StatusBadRequest, "Below the minimum", ""},
	{wallet.ErrDailyLimit, http.StatusConflict, "Daily limit reached", ""},
	{wallet.ErrDecided, http.StatusConflict, "Already decided", ""},
	{wallet.ErrStale, http.StatusConflict, "Order changed", ""},
	{wallet.ErrCoinsSpent, http.StatusConflict, "Coins already spent", ""},
	{economy.ErrInsufficientFunds, http.StatusPaymentRequired, "Not enough coins", ""},
	{economy.ErrKeyReused, http.StatusConflict, "Idempotency key reused", "this idempotency_key was used for a different request; use a new key for a new request"},
	{economy.ErrInvalid, http.StatusBadRequest, "Invalid transaction", ""},
	{gift.ErrNoSuchGift, http.StatusNotFound, "No such gift", ""},
	{gift.ErrBadRequest, http.StatusBadRequest, "Bad request", ""},
	{settings.ErrInvalid, http.StatusBadRequest, "Invalid terms", ""},
	{board.ErrBadBoard, http.StatusBadRequest, "Bad request", ""},
	{redpacket.ErrNotFound, http.StatusNotFound, "No such red packet", ""},
	{redpacket.ErrEmpty, http.StatusConflict, "Red packet empty", ""},
	{redpacket.ErrAlreadyGrabbed, http.StatusConflict, "Already grabbed", ""},
	{redpacket.ErrExpired, http.StatusGone, "Red packet expired", ""},
	{redpacket.ErrInvalid, http.StatusBadRequest, "Bad request", ""},
	{ErrBadRequest, http.StatusBadRequest, "Bad request", ""},
	{room.ErrBadMessage, http.StatusBadRequest, "Bad request", ""},
	{ErrWrongKey, http.StatusForbidden, "Stream key rejected", ""},
	{ErrBodyTooLarge, http.StatusRequestEntityTooLarge, "Request too large", ""},
	{ErrBadMediaType, http.StatusUnsupportedMediaType, "Unsupported content type", ""},
}

// writeProblem answers err as application/problem+json.
func writeProblem(c echo.Context, err error) error {
	p := problem{Status: http.StatusInternalServerError, Title: "Internal error", Detail: "something went wrong on the server; try again"}
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		p.Status, p.Title = he.Code, http.StatusText(he.Code)
		p.Detail = http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok {
			p.Detail = m
		}
	default:
		if row, ok := lookup(err); ok {
			p = row
		} else {
			c.Logger().Error(err)
		}
	}
	if errors.Is(err, account.ErrBusy) {
		c.Response().Header().Set("Retry-After", "1")
	}
	var slow *room.SlowDownError
	if errors.As(err, &slow) {
		c.Response().Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(slow.Wait.Seconds())))))
	}
	var rl *account.RateLimitError
	if errors.As(err, &rl) {
		c.Response().Header().Set("Retry-After", strconv.Itoa(rl.RetryAfterSeconds))
		p.Detail = fmt.Sprintf("too many attempts; try again in %d s", rl.RetryAfterSeconds)
	}
	if p.Status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="onair"`)
	}
	body, _ := json.Marshal(p)
	return c.Blob(p.Status, "application/problem+json", body)
}

// lookup is err's problem by the first row of statusTable it matches.
func lookup(err error) (problem, bool) {
	for _, row := range statusTable {
		if errors.Is(err, row.err) {
			p := problem{Status: row.status, Title: row.title, Detail: humanize(err)}
			if row.detail != "" && err.Error() == row.err.Error() {
				p.Detail = row.detail // the bare sentinel says too little
			}
			return p, true
		}
	}
	return problem{}, false
}

// humanize drops the package prefixes that Go errors carry ("sfu: ", "room: "
// at the start of the message or of a wrapped part), which mean nothing to a
// person reading the problem detail.
func humanize(err error) string {
	return packagePrefix.ReplaceAllString(err.Error(), "$1")
}

var packagePrefix = regexp.MustCompile(`(^|: )(?:sfu|room|account|store|natsbus|economy|payment|wallet): `)
