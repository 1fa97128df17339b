package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// HTTPError is a WHIP or WHEP answer other than the one expected. Title and
// Detail come from the application/problem+json body (RFC 9457) when there is
// one; otherwise Title is the status text and Detail the start of the body.
type HTTPError struct {
	Status int
	Title  string
	Detail string
}

func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "onair: HTTP %d", e.Status)
	if e.Title != "" {
		b.WriteString(": ")
		b.WriteString(e.Title)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

var (
	// ErrNoLocation is returned when a 201 answer has no Location header
	// (RFC 9725 section 4.2 requires one).
	ErrNoLocation = errors.New("onair: 201 answer without a Location header")
	// ErrNoSource is returned by Publish when both sources are nil.
	ErrNoSource = errors.New("onair: publish needs a video or an audio source")
	// ErrClosed is returned by WaitConnected once the session is closed or has failed.
	ErrClosed = errors.New("onair: peer connection closed or failed")
)

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// problem is the subset of RFC 9457 members that we show.
type problem struct {
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Status int    `json:"status"`
}

// newHTTPError reads resp's body (at most maxErrorBody bytes) into an
// *HTTPError. It does not close the body.
func newHTTPError(resp *http.Response) *HTTPError {
	e := &HTTPError{Status: resp.StatusCode}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if ct == "application/problem+json" || ct == "application/json" {
		var p problem
		if json.Unmarshal(body, &p) == nil {
			e.Title, e.Detail = p.Title, p.Detail
		}
	}
	if e.Title == "" {
		e.Title = http.StatusText(resp.StatusCode)
	}
	if e.Detail == "" && ct != "application/problem+json" {
		d := strings.TrimSpace(string(body))
		if len(d) > 200 {
			d = d[:200] + "…"
		}
		e.Detail = d
	}
	return e
}
