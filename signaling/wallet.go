package signaling

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/onair-live/onair/economy/payment"
	"github.com/onair-live/onair/economy/wallet"
	"github.com/onair-live/onair/store"
)

// Wallet is recharge and withdrawals as the edge needs them;
// *wallet.Service has every method but Dev.
type Wallet interface {
	Packages(ctx context.Context) (wallet.Catalog, error)
	Recharge(ctx context.Context, r wallet.RechargeRequest) (wallet.Order, error)
	Orders(ctx context.Context, q wallet.OrderQuery) ([]wallet.Order, string, error)
	// Callback takes a provider's callback request; an error means nothing
	// was credited.
	Callback(ctx context.Context, provider string, h payment.Headers, body []byte) (wallet.Order, error)
	WithdrawTerms(ctx context.Context, userID string) (wallet.WithdrawTerms, error)
	Withdraw(ctx context.Context, r wallet.WithdrawRequest) (wallet.Withdrawal, error)
	Withdrawals(ctx context.Context, q wallet.WithdrawalQuery) ([]wallet.Withdrawal, string, error)
	Approve(ctx context.Context, id, byID, reason string) (wallet.Withdrawal, error)
	Reject(ctx context.Context, id, byID, reason string) (wallet.Withdrawal, error)
	// Dev is the dev provider when the configuration turns it on, else nil:
	// then /pay/dev is not served.
	Dev() *payment.Dev
}

// walletAPI serves the Wallet.
type walletAPI struct {
	s *Server
	w Wallet
}

// walletRoutes adds the wallet's routes when there is a wallet and the
// records and audit log it needs.
func (s *Server) walletRoutes(e *echo.Echo, api *echo.Group, w Wallet) {
	if w == nil || s.records == nil || s.moderation == nil {
		return
	}
	h := walletAPI{s: s, w: w}
	api.GET("/wallet/packages", h.packages)
	api.POST("/wallet/orders", h.recharge, require(store.RoleViewer))
	api.GET("/wallet/orders", h.listOrders(true), require(store.RoleViewer))
	api.POST("/wallet/withdrawals", h.withdraw, require(store.RoleViewer))
	api.GET("/wallet/withdrawals", h.listWithdrawals(true), require(store.RoleViewer))
	// No session: the provider's signature is the authentication.
	api.POST("/payments/:provider/callback", h.callback)
	admin := api.Group("/admin", require(store.RoleAdmin))
	admin.GET("/orders", h.listOrders(false))
	admin.GET("/withdrawals", h.listWithdrawals(false))
	admin.POST("/withdrawals/:id/approve", h.decide(true))
	admin.POST("/withdrawals/:id/reject", h.decide(false))
	if w.Dev() != nil {
		// The confirm page posts a form to itself: same-origin only.
		csrf := echo.WrapMiddleware(http.NewCrossOriginProtection().Handler)
		e.GET("/pay/dev", h.devPage)
		e.POST("/pay/dev", h.devConfirm, csrf)
	}
}

type offerJSON struct {
	ID         string `json:"id"`
	PriceCents int64  `json:"price_cents"`
	Coins      int64  `json:"coins"` // bonus included
	BonusCoins int64  `json:"bonus_coins"`
}

func (h walletAPI) packages(c echo.Context) error {
	cat, err := h.w.Packages(c.Request().Context())
	if err != nil {
		return writeProblem(c, err)
	}
	offers := make([]offerJSON, 0, len(cat.Offers))
	for _, o := range cat.Offers {
		offers = append(offers, offerJSON{ID: o.ID, PriceCents: o.PriceCents, Coins: o.Coins, BonusCoins: o.BonusCoins})
	}
	return c.JSON(http.StatusOK, map[string]any{"packages": offers, "currency": cat.Currency,
		"coins_per_yuan": cat.CoinsPerYuan, "providers": cat.Providers})
}

type orderJSON struct {
	ID          string      `json:"id"`
	User        *personJSON `json:"user,omitempty"` // admin lists
	Package     string      `json:"package"`
	PriceCents  int64       `json:"price_cents"`
	Currency    string      `json:"currency"`
	Coins       int64       `json:"coins"`
	Provider    string      `json:"provider"`
	Status      string      `json:"status"`
	Settling    string      `json:"settling,omitempty"`
	CheckoutURL string      `json:"checkout_url,omitempty"` // while pending, to its owner
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

func toOrder(o wallet.Order, owner bool) orderJSON {
	j := orderJSON{ID: string(o.ID), Package: o.Package, PriceCents: o.PriceCents, Currency: o.Currency, Coins: o.Coins,
		Provider: o.Provider, Status: string(o.Status), Settling: string(o.Settling), CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	if owner && o.Status == payment.StatusPending {
		j.CheckoutURL = o.CheckoutURL
	}
	return j
}

func (h walletAPI) recharge(c echo.Context) error {
	var in struct {
		Package  string `json:"package"`
		Provider string `json:"provider"`
		Key      string `json:"idempotency_key"`
	}
	if err := bindJSON(c, &in); err != nil {
		return writeProblem(c, err)
	}
	o, err := h.w.Recharge(c.Request().Context(), wallet.RechargeRequest{UserID: current(c).user.ID, Package: in.Package, Provider: in.Provider, Key: in.Key})
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusCreated, map[string]any{"order": toOrder(o, true), "checkout_url": o.CheckoutURL})
}

// listQuery reads a list's ?cursor= and ?limit= (default 20) and, on an
// admin list, ?status= and ?user=<name>; an owner's list is the current
// user's.
func (h walletAPI) listQuery(c echo.Context, owner bool) (user, status, cursor string, limit int, err error) {
	limit = 20
	if v := c.QueryParam("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > wallet.MaxPage {
			return "", "", "", 0, fmt.Errorf("%w: limit is 1 to %d", ErrBadRequest, wallet.MaxPage)
		}
	}
	cursor = c.QueryParam("cursor")
	if owner {
		return current(c).user.ID, "", cursor, limit, nil
	}
	if name := c.QueryParam("user"); name != "" {
		u, err := h.s.records.UserByName(c.Request().Context(), name)
		if err != nil {
			return "", "", "", 0, err
		}
		user = u.ID
	}
	return user, c.QueryParam("status"), cursor, limit, nil
}

// listed is a page of items as JSON (view), each named with its user
// (userID) on an admin list; an owner's list names nobody.
func listed[T, J any](h walletAPI, c echo.Context, owner bool, items []T, userID func(T) string, view func(T, *personJSON) J) ([]J, error) {
	users := map[string]store.User{}
	if !owner && len(items) > 0 {
		ids := make([]string, len(items))
		for i, it := range items {
			ids[i] = userID(it)
		}
		var err error
		if users, err = h.s.records.UsersByID(c.Request().Context(), ids); err != nil {
			return nil, err
		}
	}
	out := make([]J, 0, len(items))
	for _, it := range items {
		var who *personJSON
		if !owner {
			p := personJSON{Name: userID(it)} // an account deleted since
			if u, ok := users[userID(it)]; ok {
				p = person(u)
			}
			who = &p
		}
		out = append(out, view(it, who))
	}
	return out, nil
}

// listOrders lists the current user's orders (owner), or anyone's (admins).
func (h walletAPI) listOrders(owner bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		user, status, cursor, limit, err := h.listQuery(c, owner)
		if err != nil {
			return writeProblem(c, err)
		}
		os, next, err := h.w.Orders(c.Request().Context(), wallet.OrderQuery{UserID: user, Status: payment.Status(status), Before: cursor, Limit: limit})
		if err != nil {
			return writeProblem(c, err)
		}
		out, err := listed(h, c, owner, os, func(o wallet.Order) string { return o.UserID }, func(o wallet.Order, who *personJSON) orderJSON {
			j := toOrder(o, owner)
			j.User = who
			return j
		})
		if err != nil {
			return writeProblem(c, err)
		}
		return c.JSON(http.StatusOK, map[string]any{"orders": out, "next": next})
	}
}

// callback takes a payment provider's callback: 200 once it is handled (a
// repeat of the order's state included); a problem otherwise, when nothing
// was credited.
func (h walletAPI) callback(c echo.Context) error {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, payment.MaxBody+1))
	if err != nil {
		return writeProblem(c, fmt.Errorf("%w: reading the body: %v", ErrBadRequest, err))
	}
	if len(body) > payment.MaxBody {
		return writeProblem(c, ErrBodyTooLarge)
	}
	o, err := h.w.Callback(c.Request().Context(), c.Param("provider"), c.Request().Header, body)
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, map[string]string{"order": string(o.ID), "status": string(o.Status)})
}

type withdrawalJSON struct {
	ID              string      `json:"id"`
	User            *personJSON `json:"user,omitempty"` // admin lists
	Earnings        int64       `json:"earnings"`
	Cents           int64       `json:"cents"`
	CentsPerEarning int64       `json:"cents_per_earning"`
	Status          string      `json:"status"`
	Reason          string      `json:"reason,omitempty"`
	DecidedAt       time.Time   `json:"decided_at,omitzero"`
	CreatedAt       time.Time   `json:"created_at"`
}

func toWithdrawal(w wallet.Withdrawal) withdrawalJSON {
	return withdrawalJSON{ID: w.ID, Earnings: w.Earnings, Cents: w.Cents, CentsPerEarning: w.CentsPerEarning,
		Status: string(w.Status), Reason: w.Reason, DecidedAt: w.DecidedAt, CreatedAt: w.CreatedAt}
}

func (h walletAPI) withdraw(c echo.Context) error {
	var in struct {
		Earnings int64  `json:"earnings"`
		Key      string `json:"idempotency_key"`
	}
	if err := bindJSON(c, &in); err != nil {
		return writeProblem(c, err)
	}
	w, err := h.w.Withdraw(c.Request().Context(), wallet.WithdrawRequest{UserID: current(c).user.ID, Earnings: in.Earnings, Key: in.Key})
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusCreated, toWithdrawal(w))
}

// listWithdrawals lists the current user's withdrawals with the terms as
// they apply to them today (owner), or anyone's (admins).
func (h walletAPI) listWithdrawals(owner bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		user, status, cursor, limit, err := h.listQuery(c, owner)
		if err != nil {
			return writeProblem(c, err)
		}
		ctx := c.Request().Context()
		ws, next, err := h.w.Withdrawals(ctx, wallet.WithdrawalQuery{UserID: user, Status: wallet.WithdrawalStatus(status), Before: cursor, Limit: limit})
		if err != nil {
			return writeProblem(c, err)
		}
		out, err := listed(h, c, owner, ws, func(w wallet.Withdrawal) string { return w.UserID }, func(w wallet.Withdrawal, who *personJSON) withdrawalJSON {
			j := toWithdrawal(w)
			j.User = who
			return j
		})
		if err != nil {
			return writeProblem(c, err)
		}
		body := map[string]any{"withdrawals": out, "next": next}
		if owner {
			t, err := h.w.WithdrawTerms(ctx, user)
			if err != nil {
				return writeProblem(c, err)
			}
			body["terms"] = map[string]int64{"min": t.Min, "daily_limit": t.DailyLimit, "cents_per_earning": t.CentsPerEarning,
				"requested_today": t.RequestedToday, "left_today": max(0, t.DailyLimit-t.RequestedToday), "balance": t.Balance}
		}
		return c.JSON(http.StatusOK, body)
	}
}

// decide approves or rejects a withdrawal (admins); the store writes the
// audit entry with the decision.
func (h walletAPI) decide(approve bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in struct {
			Reason string `json:"reason"`
		}
		if err := bindJSON(c, &in); err != nil {
			return writeProblem(c, err)
		}
		decide := h.w.Reject
		if approve {
			decide = h.w.Approve
		}
		w, err := decide(c.Request().Context(), c.Param("id"), current(c).user.ID, in.Reason)
		if err != nil {
			return writeProblem(c, err)
		}
		return c.JSON(http.StatusOK, toWithdrawal(w))
	}
}

// The dev provider's confirm page: what is being paid, and Pay / Fail
// buttons that post back here; the server then makes the provider's signed
// callback and takes it through the same path as a provider's request.
var devPage = template.Must(template.New("pay").Parse(`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
  <meta name="color-scheme" content="dark">
  <title>Confirm payment · onair (development)</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/static/style.css">
</head>
<body class="page-paydev">
  <header class="topbar">
    <a class="brand" href="/" aria-label="onair home">on<b>air</b></a>
    <span class="topbar-spacer"></span>
  </header>
  <main class="paydev">
    <section class="paydev-card" aria-labelledby="paydev-title">
      <p class="paydev-badge">Development payments · no money moves</p>
      <h1 id="paydev-title">Confirm payment</h1>
      {{if .Error}}<p class="banner error" id="paydev-error" role="alert">{{.Error}}</p>{{end}}
      {{if .Amount}}
      <p class="paydev-amount" id="paydev-amount">{{.Amount}}</p>
      <dl class="paydev-facts">
        <dt>Order</dt><dd id="paydev-order">{{.Order}}</dd>
        <dt>Expires</dt><dd>{{.Expires}}</dd>
      </dl>
      <form method="post" action="/pay/dev" class="paydev-actions">
        <input type="hidden" name="token" value="{{.Token}}">
        <button type="submit" class="btn primary" name="status" value="paid" id="paydev-pay">Pay {{.Amount}}</button>
        <button type="submit" class="btn" name="status" value="failed" id="paydev-fail">Fail the payment</button>
      </form>
      {{end}}
      <p><a href="/wallet">Back to the wallet</a></p>
    </section>
  </main>
</body>
</html>
`))

type devView struct {
	Token, Order, Amount, Expires, Error string
}

// money formats minor units of an ISO 4217 currency with two decimals.
func money(cents int64, currency string) string {
	return fmt.Sprintf("%d.%02d %s", cents/100, cents%100, currency)
}

func (h walletAPI) devPage(c echo.Context) error {
	return h.renderDev(c, c.QueryParam("token"), nil)
}

// renderDev shows the confirm page of token, with err above it if set.
func (h walletAPI) renderDev(c echo.Context, token string, err error) error {
	v := devView{}
	status := http.StatusOK
	conf, cerr := h.w.Dev().Confirmation(token)
	if cerr == nil {
		v = devView{Token: token, Order: string(conf.OrderID), Amount: money(conf.Amount, conf.Currency), Expires: conf.Expires.UTC().Format("15:04 UTC")}
	} else if err == nil {
		err = cerr
	}
	if err != nil {
		p, ok := lookup(err)
		if !ok {
			h.s.log.Error("dev payment", "err", err)
			p = problem{Status: http.StatusInternalServerError, Detail: "something went wrong on the server; try again"}
		}
		status, v.Error = p.Status, p.Detail
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(status)
	return devPage.Execute(c.Response(), v)
}

// devConfirm is the confirm page's Pay or Fail: the dev provider signs the
// callback, which goes through the callback's path; then back to the wallet.
func (h walletAPI) devConfirm(c echo.Context) error {
	token, status := c.FormValue("token"), payment.Status(c.FormValue("status"))
	if status != payment.StatusPaid && status != payment.StatusFailed {
		return h.renderDev(c, token, fmt.Errorf("%w: choose Pay or Fail", ErrBadRequest))
	}
	signed, err := h.w.Dev().Callback(token, status)
	if err != nil {
		return h.renderDev(c, token, err)
	}
	o, err := h.w.Callback(c.Request().Context(), payment.DevName, signed, signed.Body)
	if err != nil {
		return h.renderDev(c, token, err)
	}
	return c.Redirect(http.StatusSeeOther, "/wallet?"+url.Values{"order": {string(o.ID)}, "status": {string(o.Status)}}.Encode())
}
