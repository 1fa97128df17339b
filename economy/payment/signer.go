package payment

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Header names of the onair signature scheme.
const (
	HeaderTimestamp = "Onair-Timestamp" // Unix seconds, decimal, when the request was signed
	HeaderSignature = "Onair-Signature" // hex(HMAC-SHA256(secret, timestamp + "." + body))
)

// Limits of the onair scheme.
const (
	DefaultWindow = 5 * time.Minute // how far a timestamp may be from the clock
	MinSecret     = 16              // bytes of secret at the least
	MaxBody       = 64 << 10        // bytes of callback body at the most
	maxID         = 128             // bytes of an event, order or provider order id
)

// Config configures a Signer; zero fields mean the defaults.
type Config struct {
	// Window is how far a callback's timestamp may be from the clock, either
	// way (default DefaultWindow).
	Window time.Duration `yaml:"window"`
	// Now is the clock; nil means time.Now.
	Now func() time.Time `yaml:"-"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{Window: DefaultWindow, Now: time.Now} }

// Signer signs and verifies requests in the onair scheme with one secret.
type Signer struct {
	key    []byte
	window time.Duration
	now    func() time.Time
}

// NewSigner returns a signer for secret, which must be MinSecret bytes or more.
func NewSigner(secret []byte, cfg Config) (*Signer, error) {
	if len(secret) < MinSecret {
		return nil, fmt.Errorf("%w: a signing secret of %d bytes; use at least %d random bytes", ErrBadConfig, len(secret), MinSecret)
	}
	if cfg.Window < 0 {
		return nil, fmt.Errorf("%w: window %v must not be negative (0 means %v)", ErrBadConfig, cfg.Window, DefaultWindow)
	}
	def := DefaultConfig()
	if cfg.Window == 0 {
		cfg.Window = def.Window
	}
	if cfg.Now == nil {
		cfg.Now = def.Now
	}
	return &Signer{key: bytes.Clone(secret), window: cfg.Window, now: cfg.Now}, nil
}

// Signed is a signed request: its two headers and its body.
type Signed struct {
	Timestamp string // the Onair-Timestamp header
	Signature string // the Onair-Signature header
	Body      []byte
}

// Get returns a header by name, in any case, so a Signed is Headers.
func (s Signed) Get(name string) string {
	switch {
	case strings.EqualFold(name, HeaderTimestamp):
		return s.Timestamp
	case strings.EqualFold(name, HeaderSignature):
		return s.Signature
	}
	return ""
}

// Header returns the two headers to set on a request.
func (s Signed) Header() map[string]string {
	return map[string]string{HeaderTimestamp: s.Timestamp, HeaderSignature: s.Signature}
}

// mac is hex(HMAC-SHA256(key, timestamp + "." + body)).
func (s *Signer) mac(timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Sign signs body at the clock's now.
func (s *Signer) Sign(body []byte) Signed {
	ts := strconv.FormatInt(s.now().Unix(), 10)
	return Signed{Timestamp: ts, Signature: hex.EncodeToString(s.mac(ts, body)), Body: body}
}

// Verify checks a request's signature, then its timestamp against the window,
// and returns when it was signed. The signature is checked first and in
// constant time, so nothing about an unsigned request is looked at further.
func (s *Signer) Verify(h Headers, body []byte) (time.Time, error) {
	ts, sig := h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if ts == "" || sig == "" {
		return time.Time{}, fmt.Errorf("%w: the %s and %s headers are both required", ErrBadSignature, HeaderTimestamp, HeaderSignature)
	}
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return time.Time{}, fmt.Errorf("%w: %s is not %d hex digits", ErrBadSignature, HeaderSignature, 2*sha256.Size)
	}
	if !hmac.Equal(got, s.mac(ts, body)) {
		return time.Time{}, fmt.Errorf("%w: it does not match the body and timestamp; check the webhook secret", ErrBadSignature)
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || secs < 0 || secs > 1<<40 {
		return time.Time{}, fmt.Errorf("%w: %s %q is not Unix seconds", ErrMalformed, HeaderTimestamp, ts)
	}
	at, now := time.Unix(secs, 0), s.now()
	switch age := now.Sub(at); {
	case age > s.window:
		return time.Time{}, fmt.Errorf("%w: signed %v ago, more than the %v window", ErrStaleTimestamp, age.Truncate(time.Second), s.window)
	case -age > s.window:
		return time.Time{}, fmt.Errorf("%w: signed %v ahead of this server's clock, more than the %v window; check both clocks",
			ErrFutureTimestamp, (-age).Truncate(time.Second), s.window)
	}
	return at, nil
}

// ValidUntil is when a request signed at `at` stops being fresh.
func (s *Signer) ValidUntil(at time.Time) time.Time { return at.Add(s.window) }

// CallbackBody is the JSON body of a callback in the onair scheme. Fields
// not listed here are ignored.
type CallbackBody struct {
	EventID         string    `json:"event_id"`
	ProviderOrderID string    `json:"provider_order_id"`
	OrderID         string    `json:"order_id"`
	Amount          int64     `json:"amount"`   // minor units, > 0
	Currency        string    `json:"currency"` // ISO 4217, upper case
	Status          Status    `json:"status"`   // paid, failed or refunded
	At              time.Time `json:"at"`       // RFC 3339
}

// ParseBody decodes and checks a callback body.
func ParseBody(body []byte) (CallbackBody, error) {
	var b CallbackBody
	if len(body) > MaxBody {
		return b, fmt.Errorf("%w: body of %d bytes, more than %d", ErrMalformed, len(body), MaxBody)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&b); err != nil {
		return CallbackBody{}, fmt.Errorf("%w: body is not the JSON object expected: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return CallbackBody{}, fmt.Errorf("%w: more than one JSON value in the body", ErrMalformed)
	}
	for _, f := range []struct{ name, v string }{
		{"event_id", b.EventID}, {"provider_order_id", b.ProviderOrderID}, {"order_id", b.OrderID},
	} {
		if err := checkID(f.name, f.v); err != nil {
			return CallbackBody{}, err
		}
	}
	switch {
	case b.Amount <= 0:
		return CallbackBody{}, fmt.Errorf("%w: amount %d; it must be a positive whole number of minor units", ErrMalformed, b.Amount)
	case !isCurrency(b.Currency):
		return CallbackBody{}, fmt.Errorf("%w: currency %q; use an ISO 4217 code in upper case, such as USD", ErrMalformed, b.Currency)
	case b.Status != StatusPaid && b.Status != StatusFailed && b.Status != StatusRefunded:
		return CallbackBody{}, fmt.Errorf("%w: status %q; it must be paid, failed or refunded", ErrMalformed, b.Status)
	case b.At.IsZero():
		return CallbackBody{}, fmt.Errorf("%w: no \"at\" time", ErrMalformed)
	}
	return b, nil
}

func checkID(name, v string) error {
	if v == "" || len(v) > maxID || !utf8.ValidString(v) {
		return fmt.Errorf("%w: %s must be 1 to %d bytes of UTF-8", ErrMalformed, name, maxID)
	}
	for _, r := range v {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("%w: %s %q holds a control character", ErrMalformed, name, v)
		}
	}
	return nil
}

func isCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := range 3 {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}

// ParseCallback verifies a request in the onair scheme and decodes its body
// into a Callback from provider: what a Provider using this scheme returns.
func (s *Signer) ParseCallback(provider string, h Headers, body []byte) (Callback, error) {
	at, err := s.Verify(h, body)
	if err != nil {
		return Callback{}, err
	}
	b, err := ParseBody(body)
	if err != nil {
		return Callback{}, err
	}
	return Callback{
		Provider:        provider,
		EventID:         b.EventID,
		ProviderOrderID: b.ProviderOrderID,
		OrderID:         OrderID(b.OrderID),
		Amount:          b.Amount,
		Currency:        b.Currency,
		Status:          b.Status,
		At:              b.At,
		ValidUntil:      s.ValidUntil(at),
	}, nil
}
