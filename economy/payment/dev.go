package payment

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// DevName is the dev provider's Name.
const DevName = "dev"

// DevConfig configures the dev provider; zero fields mean the defaults.
type DevConfig struct {
	// ConfirmURL is the confirm page the server serves; a checkout sends the
	// user to ConfirmURL?token=<token>. Default "/pay/dev".
	ConfirmURL string
	// TokenTTL is how long a checkout's token is good for. Default one hour.
	TokenTTL time.Duration
	// Window and Now are those of the callbacks' Signer (see Config).
	Window time.Duration
	Now    func() time.Time
	// Secret signs tokens and callbacks; nil means 32 random bytes drawn for
	// this process, the normal case. Tests may fix it.
	Secret []byte
}

// Dev is the built-in dev provider: no money, a confirm page, and callbacks
// signed with a per-process secret that go through Handle like a real
// provider's. Anyone who can reach its confirm page can mark their order
// paid: construct it only when a flag asks for it.
type Dev struct {
	signer   *Signer
	tokenKey []byte
	confirm  string
	ttl      time.Duration
	now      func() time.Time
}

var _ Provider = (*Dev)(nil)

// NewDev returns a dev provider.
func NewDev(cfg DevConfig) (*Dev, error) {
	secret := cfg.Secret
	if secret == nil {
		secret = make([]byte, 32)
		rand.Read(secret)
	}
	if len(secret) < MinSecret {
		return nil, fmt.Errorf("%w: a dev secret of %d bytes; use at least %d (or none, for a random one)", ErrBadConfig, len(secret), MinSecret)
	}
	if cfg.ConfirmURL == "" {
		cfg.ConfirmURL = "/pay/dev"
	}
	if _, err := url.Parse(cfg.ConfirmURL); err != nil || strings.Contains(cfg.ConfirmURL, "?") {
		return nil, fmt.Errorf("%w: dev confirm URL %q must be a URL without a query", ErrBadConfig, cfg.ConfirmURL)
	}
	if cfg.TokenTTL < 0 {
		return nil, fmt.Errorf("%w: dev token TTL %v must not be negative", ErrBadConfig, cfg.TokenTTL)
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = time.Hour
	}
	signer, err := NewSigner(derive(secret, "onair dev callback"), Config{Window: cfg.Window, Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	return &Dev{
		signer:   signer,
		tokenKey: derive(secret, "onair dev checkout token"),
		confirm:  cfg.ConfirmURL,
		ttl:      cfg.TokenTTL,
		now:      signer.now,
	}, nil
}

// derive gives a key for one purpose from the secret.
func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// Name implements Provider.
func (d *Dev) Name() string { return DevName }

// devToken is what a checkout token carries.
type devToken struct {
	ProviderOrderID string `json:"p"`
	OrderID         string `json:"o"`
	Amount          int64  `json:"a"`
	Currency        string `json:"c"`
	Expires         int64  `json:"e"` // Unix seconds
}

// Checkout implements Provider: the URL of the confirm page with a token
// that carries the order, signed.
func (d *Dev) Checkout(ctx context.Context, o Order) (Checkout, error) {
	if err := ctx.Err(); err != nil {
		return Checkout{}, err
	}
	switch {
	case o.Provider != DevName:
		return Checkout{}, fmt.Errorf("%w: order %s is with provider %q, not %q", ErrOrderMismatch, o.ID, o.Provider, DevName)
	case o.Status != StatusPending:
		return Checkout{}, fmt.Errorf("%w: order %s is %s; only a pending order can be paid", ErrBadTransition, o.ID, o.Status)
	case o.Amount <= 0 || !isCurrency(o.Currency) || checkID("order id", string(o.ID)) != nil:
		return Checkout{}, fmt.Errorf("%w: order %q for %d %q; it needs an id, a positive amount and an ISO 4217 currency",
			ErrMalformed, o.ID, o.Amount, o.Currency)
	}
	t := devToken{
		ProviderOrderID: "dev_" + rand.Text(),
		OrderID:         string(o.ID),
		Amount:          o.Amount,
		Currency:        o.Currency,
		Expires:         d.now().Add(d.ttl).Unix(),
	}
	payload, err := json.Marshal(t)
	if err != nil {
		return Checkout{}, fmt.Errorf("payment: dev token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(d.tokenMAC(payload))
	return Checkout{
		ProviderOrderID: t.ProviderOrderID,
		URL:             d.confirm + "?token=" + url.QueryEscape(token),
		Instructions:    "Development payments: confirm or fail the payment on the next page; no money moves.",
	}, nil
}

func (d *Dev) tokenMAC(payload []byte) []byte {
	m := hmac.New(sha256.New, d.tokenKey)
	m.Write(payload)
	return m.Sum(nil)
}

// ParseCallback implements Provider, in the onair scheme.
func (d *Dev) ParseCallback(h Headers, body []byte) (Callback, error) {
	return d.signer.ParseCallback(DevName, h, body)
}

// Confirmation is what the dev confirm page shows, from a checkout token.
type Confirmation struct {
	Token           string
	ProviderOrderID string
	OrderID         OrderID
	Amount          int64
	Currency        string
	Expires         time.Time
}

// Confirmation reads a checkout token: ErrBadToken if this process did not
// issue it or it has expired.
func (d *Dev) Confirmation(token string) (Confirmation, error) {
	p, m, ok := strings.Cut(token, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	mac, err2 := base64.RawURLEncoding.DecodeString(m)
	if !ok || err1 != nil || err2 != nil || !hmac.Equal(mac, d.tokenMAC(payload)) {
		return Confirmation{}, fmt.Errorf("%w: not issued by this server (the dev provider's secret is new on every start)", ErrBadToken)
	}
	var t devToken
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return Confirmation{}, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	exp := time.Unix(t.Expires, 0)
	if !d.now().Before(exp) {
		return Confirmation{}, fmt.Errorf("%w: expired at %s; start the recharge again", ErrBadToken, exp.UTC().Format(time.RFC3339))
	}
	return Confirmation{Token: token, ProviderOrderID: t.ProviderOrderID, OrderID: OrderID(t.OrderID),
		Amount: t.Amount, Currency: t.Currency, Expires: exp}, nil
}

// Callback makes the signed callback that the confirm page's "confirm"
// (StatusPaid) or "fail" (StatusFailed) button, or a test's refund
// (StatusRefunded), sends: the server feeds it to Handle as it would a
// provider's request.
func (d *Dev) Callback(token string, status Status) (Signed, error) {
	c, err := d.Confirmation(token)
	if err != nil {
		return Signed{}, err
	}
	if status != StatusPaid && status != StatusFailed && status != StatusRefunded {
		return Signed{}, fmt.Errorf("%w: a dev callback is paid, failed or refunded, not %q", ErrMalformed, status)
	}
	body, err := json.Marshal(CallbackBody{
		EventID:         "devevt_" + rand.Text(),
		ProviderOrderID: c.ProviderOrderID,
		OrderID:         string(c.OrderID),
		Amount:          c.Amount,
		Currency:        c.Currency,
		Status:          status,
		At:              d.now().UTC(),
	})
	if err != nil {
		return Signed{}, fmt.Errorf("payment: dev callback: %w", err)
	}
	return d.signer.Sign(body), nil
}
