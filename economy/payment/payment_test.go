package payment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a manual clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// store is the caller's order store, in a map.
type store struct {
	mu     sync.Mutex
	orders map[OrderID]Order
}

func (s *store) Find(ctx context.Context, id OrderID) (Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return Order{}, fmt.Errorf("order %q: %w", id, ErrUnknownOrder)
	}
	return o, nil
}

func (s *store) put(o Order) {
	s.mu.Lock()
	s.orders[o.ID] = o
	s.mu.Unlock()
}

// rig is a dev provider, a guard and a store of orders on one clock.
type rig struct {
	clock  *clock
	dev    *Dev
	guard  *MemoryGuard
	orders *store
}

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func newRig(t *testing.T) *rig {
	t.Helper()
	c := newClock()
	dev, err := NewDev(DevConfig{Now: c.Now, Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{clock: c, dev: dev, guard: NewMemoryGuard(c.Now), orders: &store{orders: map[OrderID]Order{}}}
}

// checkout stores a pending order of 999 USD cents and returns its token.
func (r *rig) checkout(t *testing.T, id OrderID) (Order, string) {
	t.Helper()
	o := Order{ID: id, Provider: DevName, Amount: 999, Currency: "USD", Status: StatusPending}
	co, err := r.dev.Checkout(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	o.ProviderOrderID = co.ProviderOrderID
	r.orders.put(o)
	u, err := url.Parse(co.URL)
	if err != nil || u.Path != "/pay/dev" {
		t.Fatalf("checkout URL %q: %v", co.URL, err)
	}
	return o, u.Query().Get("token")
}

func (r *rig) handle(ctx context.Context, h Headers, body []byte) (Decision, error) {
	return Handle(ctx, r.dev, r.guard, r.orders, h, body)
}

// signed signs a callback body in the dev provider's scheme at the clock's now.
func (r *rig) signed(t *testing.T, b CallbackBody) Signed {
	t.Helper()
	body, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return r.dev.signer.Sign(body)
}

func bodyFor(o Order, event string, status Status) CallbackBody {
	return CallbackBody{EventID: event, ProviderOrderID: o.ProviderOrderID, OrderID: string(o.ID),
		Amount: o.Amount, Currency: o.Currency, Status: status, At: time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)}
}

// The whole dev path: checkout, confirm page, signed callback through Handle,
// a credit once; a repeat changes nothing; a refund reverses.
func TestDevEndToEnd(t *testing.T) {
	r := newRig(t)
	o, token := r.checkout(t, "order-1")
	c, err := r.dev.Confirmation(token)
	if err != nil {
		t.Fatal(err)
	}
	if c.OrderID != o.ID || c.Amount != 999 || c.Currency != "USD" || c.ProviderOrderID != o.ProviderOrderID {
		t.Fatalf("confirmation %+v does not show order %+v", c, o)
	}
	req, err := r.dev.Callback(token, StatusPaid)
	if err != nil {
		t.Fatal(err)
	}
	// Through real http.Header, as the server will get it.
	h := http.Header{}
	for k, v := range req.Header() {
		h.Set(strings.ToLower(k), v)
	}
	d, err := r.handle(t.Context(), h, req.Body)
	if err != nil {
		t.Fatal(err)
	}
	if d.Effect != EffectCredit || d.Next.Status != StatusPaid || d.Order.Status != StatusPending {
		t.Fatalf("decision %+v, want a credit moving pending to paid", d)
	}
	if want := "recharge:credit:dev:" + o.ProviderOrderID; d.LedgerKey() != want {
		t.Fatalf("LedgerKey %q, want %q", d.LedgerKey(), want)
	}
	r.orders.put(d.Next) // the caller commits

	// The page is submitted twice: a new event, nothing more to do.
	again, err := r.dev.Callback(token, StatusPaid)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := r.handle(t.Context(), again, again.Body); err != nil || d.Effect != EffectNone {
		t.Fatalf("second paid callback: %+v, %v; want EffectNone", d, err)
	}
	refund, err := r.dev.Callback(token, StatusRefunded)
	if err != nil {
		t.Fatal(err)
	}
	d, err = r.handle(t.Context(), refund, refund.Body)
	if err != nil || d.Effect != EffectReverse || d.Next.Status != StatusRefunded {
		t.Fatalf("refund: %+v, %v; want a reversal to refunded", d, err)
	}
	if d.LedgerKey() != "recharge:reverse:dev:"+o.ProviderOrderID {
		t.Fatalf("refund LedgerKey %q", d.LedgerKey())
	}
}

func TestDevFail(t *testing.T) {
	r := newRig(t)
	_, token := r.checkout(t, "order-1")
	req, err := r.dev.Callback(token, StatusFailed)
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.handle(t.Context(), req, req.Body)
	if err != nil || d.Effect != EffectNone || d.Next.Status != StatusFailed {
		t.Fatalf("fail: %+v, %v; want no effect, status failed", d, err)
	}
	r.orders.put(d.Next)
	paid, err := r.dev.Callback(token, StatusPaid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.handle(t.Context(), paid, paid.Body); !errors.Is(err, ErrBadTransition) {
		t.Fatalf("paid after failed: %v, want ErrBadTransition", err)
	}
}

// Every refusal the issue lists, and a few more: each is the error it should
// be, nothing is to be credited, and (but for the replay) the guard has not
// recorded the event, so a correct retry would still be taken.
func TestHandleRefuses(t *testing.T) {
	type tc struct {
		name string
		// prepare returns the request to send; the rig holds order-1,
		// pending, as o.
		prepare func(t *testing.T, r *rig, o Order) (Headers, []byte)
		want    error
	}
	sign := func(mod func(*CallbackBody)) func(t *testing.T, r *rig, o Order) (Headers, []byte) {
		return func(t *testing.T, r *rig, o Order) (Headers, []byte) {
			b := bodyFor(o, "evt-1", StatusPaid)
			mod(&b)
			s := r.signed(t, b)
			return s, s.Body
		}
	}
	cases := []tc{
		{"bad signature", func(t *testing.T, r *rig, o Order) (Headers, []byte) {
			s := r.signed(t, bodyFor(o, "evt-1", StatusPaid))
			sig := []byte(s.Signature)
			sig[0] ^= 1 // another hex digit
			if sig[0] == s.Signature[0] {
				t.Fatal("signature unchanged")
			}
			s.Signature = string(sig)
			return s, s.Body
		}, ErrBadSignature},
		{"signed with another secret", func(t *testing.T, r *rig, o Order) (Headers, []byte) {
			other, err := NewSigner([]byte("another secret, just as long...."), Config{Now: r.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := json.Marshal(bodyFor(o, "evt-1", StatusPaid))
			s := other.Sign(body)
			return s, s.Body
		}, ErrBadSignature},
		{"body changed after signing", func(t *testing.T, r *rig, o Order) (Headers, []byte) {
			s := r.signed(t, bodyFor(o, "evt-1", StatusPaid))
			return s, []byte(strings.Replace(string(s.Body), "999", "99999", 1))
		}, ErrBadSignature},
		{"timestamp changed after signing", func(t *testing.T, r *rig, o Order) (Headers, []byte) {
			s := r.signed(t, bodyFor(o, "evt-1", StatusPaid))
			s.Timestamp = fmt.Sprint(r.clock.Now().Unix() - 1)
			return s, s.Body
		}, ErrBadSignature},
		{"no signature", func(t *testing.T, r *rig, o Order) (Headers, []byte) {
			s := r.signed(t, bodyFor(o, "evt-1", StatusPaid))
			s.Signature = ""
			return s, s.Body
		}, ErrBadSignature},
		{"signature not hex", func(t *testing.T, r *rig, o Order) (Headers, []byte) {
			s := r.signed(t, bodyFor(o, "evt-1", StatusPaid))
			s.Signature = "zz" + s.Signature[2:]
			return s, s.Body
		}, ErrBadSignature},
		{"stale timestamp", func(t *testing.T, r *rig, o Order) (Headers, []byte) {
			s := r.signed(t, bodyFor(o, "evt-1", StatusPaid))
			r.clock.Advance(DefaultWindow + time.Second)
			return s, s.Body
		}, ErrStaleTimestamp},
		{"future timestamp", func(t *testing.T, r *rig, o Order) (Headers, []byte) {
			r.clock.Advance(DefaultWindow + time.Second)
			s := r.signed(t, bodyFor(o, "evt-1", StatusPaid))
			r.clock.Advance(-DefaultWindow - time.Second)
			return s, s.Body
		}, ErrFutureTimestamp},
		{"replay", func(t *testing.T, r *rig, o Order) (Headers, []byte) {
			s := r.signed(t, bodyFor(o, "evt-1", StatusPaid))
			if d, err := r.handle(t.Context(), s, s.Body); err != nil || d.Effect != EffectCredit {
				t.Fatalf("first delivery: %+v, %v", d, err)
			}
			r.clock.Advance(DefaultWindow - time.Second) // still fresh
			return s, s.Body
		}, ErrReplay},
		{"unknown order", sign(func(b *CallbackBody) { b.OrderID = "order-404" }), ErrUnknownOrder},
		{"amount mismatch", sign(func(b *CallbackBody) { b.Amount = 1 }), ErrAmountMismatch},
		{"wrong currency", sign(func(b *CallbackBody) { b.Currency = "EUR" }), ErrCurrencyMismatch},
		{"another provider order", sign(func(b *CallbackBody) { b.ProviderOrderID = "dev_other" }), ErrOrderMismatch},
		{"refund of a pending order", sign(func(b *CallbackBody) { b.Status = StatusRefunded }), ErrBadTransition},
		{"malformed body", func(t *testing.T, r *rig, o Order) (Headers, []byte) {
			s := r.dev.signer.Sign([]byte(`{"event_id": "evt-1", "amount": "lots"}`))
			return s, s.Body
		}, ErrMalformed},
		{"status unknown", sign(func(b *CallbackBody) { b.Status = "maybe" }), ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			o, _ := r.checkout(t, "order-1")
			h, body := c.prepare(t, r, o)
			before := r.guard.Len()
			d, err := r.handle(t.Context(), h, body)
			if !errors.Is(err, c.want) {
				t.Fatalf("Handle: %v, want %v", err, c.want)
			}
			if d != (Decision{}) {
				t.Fatalf("Handle refused with a decision %+v", d)
			}
			if n := r.guard.Len(); n != before {
				t.Fatalf("a refused callback was recorded: %d records, %d before", n, before)
			}
			if msg := err.Error(); len(msg) < 30 {
				t.Fatalf("error %q says too little to act on", msg)
			}
		})
	}
}

// The window holds on both sides, to the second.
func TestWindowEdges(t *testing.T) {
	for _, c := range []struct {
		skew time.Duration // how far the clock moves after signing
		want error
	}{
		{DefaultWindow, nil},
		{DefaultWindow + time.Second, ErrStaleTimestamp},
		{-DefaultWindow, nil},
		{-DefaultWindow - time.Second, ErrFutureTimestamp},
	} {
		r := newRig(t)
		o, _ := r.checkout(t, "order-1")
		s := r.signed(t, bodyFor(o, "evt-1", StatusPaid))
		r.clock.Advance(c.skew)
		if _, err := r.dev.ParseCallback(s, s.Body); !errors.Is(err, c.want) && (err != nil || c.want != nil) {
			t.Errorf("clock %v after signing: %v, want %v", c.skew, err, c.want)
		}
	}
	c := newClock()
	s, err := NewSigner(testSecret, Config{Window: time.Minute, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	req := s.Sign([]byte("{}"))
	c.Advance(61 * time.Second)
	if _, err := s.Verify(req, req.Body); !errors.Is(err, ErrStaleTimestamp) {
		t.Errorf("a one-minute window after 61s: %v, want ErrStaleTimestamp", err)
	}
}

// When the caller cannot commit, Forget lets the provider's retry through.
func TestForgetLetsRetryIn(t *testing.T) {
	r := newRig(t)
	o, _ := r.checkout(t, "order-1")
	s := r.signed(t, bodyFor(o, "evt-1", StatusPaid))
	d, err := r.handle(t.Context(), s, s.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.guard.Forget(t.Context(), d.Callback.Provider, d.Callback.EventID); err != nil {
		t.Fatal(err)
	}
	if d2, err := r.handle(t.Context(), s, s.Body); err != nil || d2.Effect != EffectCredit {
		t.Fatalf("retry after Forget: %+v, %v; want the credit again", d2, err)
	}
}

func TestApplyTransitions(t *testing.T) {
	allowed := map[[2]Status]Effect{
		{StatusPending, StatusPaid}:      EffectCredit,
		{StatusPending, StatusFailed}:    EffectNone,
		{StatusPaid, StatusRefunded}:     EffectReverse,
		{StatusPaid, StatusPaid}:         EffectNone, // repeats
		{StatusFailed, StatusFailed}:     EffectNone,
		{StatusRefunded, StatusRefunded}: EffectNone,
	}
	for _, from := range []Status{StatusPending, StatusPaid, StatusFailed, StatusRefunded} {
		for _, to := range []Status{StatusPaid, StatusFailed, StatusRefunded} {
			o := Order{ID: "o1", Provider: "p", ProviderOrderID: "po1", Amount: 500, Currency: "CNY", Status: from}
			cb := Callback{Provider: "p", EventID: "e", ProviderOrderID: "po1", OrderID: "o1", Amount: 500, Currency: "CNY", Status: to}
			next, effect, err := o.Apply(cb)
			want, ok := allowed[[2]Status{from, to}]
			switch {
			case ok && (err != nil || effect != want || next.Status != to):
				t.Errorf("%s → %s: %v, %v, %v; want %v", from, to, next.Status, effect, err, want)
			case !ok && (!errors.Is(err, ErrBadTransition) || effect != EffectNone || next != o):
				t.Errorf("%s → %s: %v, %v, %v; want ErrBadTransition and the order unchanged", from, to, next.Status, effect, err)
			}
		}
	}
	// A callback that names another order, or none of the order's provider order id yet.
	o := Order{ID: "o1", Provider: "p", Amount: 500, Currency: "CNY", Status: StatusPending}
	cb := Callback{Provider: "p", ProviderOrderID: "po9", OrderID: "o1", Amount: 500, Currency: "CNY", Status: StatusPaid}
	if next, _, err := o.Apply(cb); err != nil || next.ProviderOrderID != "po9" {
		t.Errorf("order without a provider order id: %+v, %v; want it to take po9", next, err)
	}
	for name, mod := range map[string]func(*Callback){
		"other order":    func(c *Callback) { c.OrderID = "o2" },
		"other provider": func(c *Callback) { c.Provider = "q" },
	} {
		c := cb
		mod(&c)
		if _, _, err := o.Apply(c); !errors.Is(err, ErrOrderMismatch) {
			t.Errorf("%s: %v, want ErrOrderMismatch", name, err)
		}
	}
}

func TestParseBody(t *testing.T) {
	good := `{"event_id":"e1","provider_order_id":"p1","order_id":"o1","amount":999,"currency":"USD","status":"paid","at":"2030-01-02T12:00:00Z"`
	if b, err := ParseBody([]byte(good + `,"livemode":false,"extra":{"a":[1,2]}}`)); err != nil || b.Amount != 999 {
		t.Fatalf("unknown fields: %+v, %v; want them ignored", b, err)
	}
	for name, body := range map[string]string{
		"not JSON":          `amount=999`,
		"an array":          `[1]`,
		"fractional amount": strings.Replace(good, "999", "9.99", 1) + "}",
		"string amount":     strings.Replace(good, "999", `"999"`, 1) + "}",
		"zero amount":       strings.Replace(good, "999", "0", 1) + "}",
		"negative amount":   strings.Replace(good, "999", "-999", 1) + "}",
		"huge amount":       strings.Replace(good, "999", "99999999999999999999", 1) + "}",
		"lower-case code":   strings.Replace(good, "USD", "usd", 1) + "}",
		"long code":         strings.Replace(good, "USD", "USDT", 1) + "}",
		"status pending":    strings.Replace(good, "paid", "pending", 1) + "}",
		"no event id":       strings.Replace(good, `"e1"`, `""`, 1) + "}",
		"control in id":     strings.Replace(good, `"o1"`, `"o\n1"`, 1) + "}",
		"no time":           strings.Replace(good, `,"at":"2030-01-02T12:00:00Z"`, "", 1) + "}",
		"bad time":          strings.Replace(good, "2030-01-02T12:00:00Z", "yesterday", 1) + "}",
		"two values":        good + "}{}",
		"too long":          good + `,"pad":"` + strings.Repeat("x", MaxBody) + `"}`,
	} {
		if _, err := ParseBody([]byte(body)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func TestMemoryGuard(t *testing.T) {
	ctx := t.Context()
	c := newClock()
	g := NewMemoryGuard(c.Now)
	until := c.Now().Add(time.Minute)
	seen := func(p, e string) bool {
		t.Helper()
		s, err := g.Seen(ctx, p, e, until)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if seen("dev", "e1") || !seen("dev", "e1") {
		t.Fatal("first Seen must be false, the second true")
	}
	if seen("other", "e1") || seen("dev", "e2") {
		t.Fatal("events are per provider and id")
	}
	c.Advance(time.Minute)
	if seen("dev", "e1") {
		t.Fatal("a record past its time still counts")
	}
	// The sweep keeps only what is alive: e1 was taken again with the old until, so is not kept.
	c.Advance(2 * time.Minute)
	if _, err := g.Seen(ctx, "dev", "e3", c.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := g.Len(); n != 1 {
		t.Fatalf("guard holds %d records after the sweep, want 1", n)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := g.Seen(gone, "dev", "e9", until); !errors.Is(err, context.Canceled) {
		t.Fatalf("Seen with a cancelled ctx: %v", err)
	}
}

// Of 16 concurrent deliveries of one event, exactly one is taken.
func TestMemoryGuardConcurrent(t *testing.T) {
	g := NewMemoryGuard(nil)
	var fresh atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				s, err := g.Seen(context.Background(), "dev", fmt.Sprint("e", i), time.Now().Add(time.Hour))
				if err != nil {
					t.Error(err)
					return
				}
				if !s {
					fresh.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := fresh.Load(); n != 100 {
		t.Fatalf("%d deliveries taken, want exactly one per event (100)", n)
	}
}

func TestDevTokens(t *testing.T) {
	r := newRig(t)
	_, token := r.checkout(t, "order-1")
	other, err := NewDev(DevConfig{Now: r.clock.Now}) // a restart: a new secret
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Confirmation(token); !errors.Is(err, ErrBadToken) {
		t.Errorf("a token from another process: %v, want ErrBadToken", err)
	}
	p, m, _ := strings.Cut(token, ".")
	for name, tok := range map[string]string{
		"empty":        "",
		"no mac":       p,
		"mac of other": p + "." + strings.Repeat("A", len(m)),
		"garbage":      "%%%.###",
	} {
		if _, err := r.dev.Confirmation(tok); !errors.Is(err, ErrBadToken) {
			t.Errorf("%s token: %v, want ErrBadToken", name, err)
		}
	}
	if _, err := r.dev.Callback(token, StatusPending); !errors.Is(err, ErrMalformed) {
		t.Errorf("a pending callback: %v, want ErrMalformed", err)
	}
	r.clock.Advance(time.Hour)
	if _, err := r.dev.Callback(token, StatusPaid); !errors.Is(err, ErrBadToken) {
		t.Errorf("an expired token: %v, want ErrBadToken", err)
	}
	// Dev signs with a key of its own: a callback signed with the raw secret fails.
	raw, _ := NewSigner(testSecret, Config{Now: r.clock.Now})
	body, _ := json.Marshal(bodyFor(Order{ID: "order-1", ProviderOrderID: "x", Amount: 1, Currency: "USD"}, "e", StatusPaid))
	s := raw.Sign(body)
	if _, err := r.dev.ParseCallback(s, s.Body); !errors.Is(err, ErrBadSignature) {
		t.Errorf("signed with the undivided secret: %v, want ErrBadSignature", err)
	}
}

func TestDevCheckoutRefuses(t *testing.T) {
	r := newRig(t)
	good := Order{ID: "o1", Provider: DevName, Amount: 100, Currency: "USD", Status: StatusPending}
	for name, mod := range map[string]func(*Order){
		"other provider": func(o *Order) { o.Provider = "stripe" },
		"already paid":   func(o *Order) { o.Status = StatusPaid },
		"zero amount":    func(o *Order) { o.Amount = 0 },
		"bad currency":   func(o *Order) { o.Currency = "dollars" },
		"no id":          func(o *Order) { o.ID = "" },
	} {
		o := good
		mod(&o)
		if co, err := r.dev.Checkout(t.Context(), o); err == nil {
			t.Errorf("Checkout with %s: %+v, no error", name, co)
		}
	}
	a, err := r.dev.Checkout(t.Context(), good)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.dev.Checkout(t.Context(), good)
	if err != nil {
		t.Fatal(err)
	}
	if a.ProviderOrderID == b.ProviderOrderID {
		t.Error("two checkouts share a provider order id")
	}
}

func TestConfigRefused(t *testing.T) {
	if _, err := NewSigner([]byte("short"), Config{}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("short secret: %v", err)
	}
	if _, err := NewSigner(testSecret, Config{Window: -time.Second}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("negative window: %v", err)
	}
	for _, cfg := range []DevConfig{{ConfirmURL: "/pay?x=1"}, {TokenTTL: -1}, {Secret: []byte("short")}} {
		if _, err := NewDev(cfg); !errors.Is(err, ErrBadConfig) {
			t.Errorf("NewDev(%+v): %v, want ErrBadConfig", cfg, err)
		}
	}
}
