package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/gift"
	"github.com/onair-live/onair/economy/ledgertest"
	"github.com/onair-live/onair/economy/payment"
	"github.com/onair-live/onair/economy/redpacket"
	"github.com/onair-live/onair/economy/redpacket/dbstore"
	econterms "github.com/onair-live/onair/economy/settings"
	"github.com/onair-live/onair/economy/sqlstore"
	"github.com/onair-live/onair/economy/wallet"
	"github.com/onair-live/onair/store"
)

// books is the simple model the economy must agree with: who holds how many
// coins and earnings, and what each red packet has left.
type books struct {
	coins, earnings map[string]int64
	packets         map[string]*packetModel
	withdrawals     map[string]int64 // pending: id → earnings on hold
}

type packetModel struct {
	sender  string
	left    int64
	shares  int
	grabbed map[string]bool
	ended   bool
}

// economyRig runs every money service of a node on one real database.
type economyRig struct {
	t       *testing.T
	db      *store.DB
	ledger  *economy.Ledger
	gifts   *gift.Service
	wallet  walletEdge
	packets *redpacket.Service
	clock   time.Time
	terms   econterms.Settings
	users   []store.User // viewers first, then streamers
	admin   store.User
}

func newEconomyRig(t *testing.T, e ledgertest.Engine) *economyRig {
	t.Helper()
	ctx := t.Context()
	r := &economyRig{t: t, db: e.Open(t), clock: time.Now(), terms: econterms.Default()}
	var err error
	if r.ledger, err = economy.NewLedger(economy.Config{}, economy.Deps{Store: sqlstore.New(r.db)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.ledger.Close() })
	now := func() time.Time { return r.clock }
	r.gifts = &gift.Service{Catalog: catalog{r.db}, Terms: terms{r.db}, Ledger: r.ledger, Now: now}
	cfg := DefaultConfig()
	cfg.Payments.Dev = true
	if r.wallet, err = newWallet(cfg, r.db, r.ledger, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	if r.packets, err = redpacket.New(redpacket.Config{}, redpacket.Deps{Store: dbstore.New(r.db), Ledger: r.ledger, Terms: terms{r.db}, Now: now}); err != nil {
		t.Fatal(err)
	}
	for i, role := range []store.Role{store.RoleViewer, store.RoleViewer, store.RoleViewer, store.RoleStreamer, store.RoleStreamer} {
		u, err := r.db.CreateUser(ctx, store.NewUser{Name: fmt.Sprintf("prop%d", i), Role: role})
		if err != nil {
			t.Fatal(err)
		}
		r.users = append(r.users, u)
	}
	if r.admin, err = r.db.CreateUser(ctx, store.NewUser{Name: "propadmin", Role: store.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	return r
}

// recharge pays (or fails) a dev order for a package, as the provider would.
func (r *economyRig) recharge(user, pkg, key string, paid bool) error {
	ctx := r.t.Context()
	o, err := r.wallet.Recharge(ctx, wallet.RechargeRequest{UserID: user, Package: pkg, Provider: payment.DevName, Key: key})
	if err != nil {
		return err
	}
	c, err := r.wallet.dev.Confirmation(tokenOf(r.t, o.CheckoutURL))
	if err != nil {
		return err
	}
	status := payment.StatusPaid
	if !paid {
		status = payment.StatusFailed
	}
	s, err := r.wallet.dev.Callback(c.Token, status)
	if err != nil {
		return err
	}
	_, err = r.wallet.Callback(ctx, payment.DevName, s, s.Body)
	return err
}

func tokenOf(t *testing.T, checkoutURL string) string {
	t.Helper()
	const prefix = "/pay/dev?token="
	if len(checkoutURL) <= len(prefix) || checkoutURL[:len(prefix)] != prefix {
		t.Fatalf("checkout URL %q is not the dev confirm page", checkoutURL)
	}
	return checkoutURL[len(prefix):]
}

func (r *economyRig) check(m *books, step int, what string) {
	r.t.Helper()
	ctx := r.t.Context()
	var ids []economy.AccountID
	for _, u := range r.users {
		ids = append(ids, economy.UserAccount(u.ID, economy.Coins), economy.UserAccount(u.ID, economy.Earnings))
	}
	got, err := r.ledger.Balances(ctx, ids...)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, u := range r.users {
		if c, e := got[economy.UserAccount(u.ID, economy.Coins)], got[economy.UserAccount(u.ID, economy.Earnings)]; c != m.coins[u.ID] || e != m.earnings[u.ID] {
			r.t.Fatalf("step %d (%s): %s has %d coins and %d earnings, the model says %d and %d", step, what, u.Name, c, e, m.coins[u.ID], m.earnings[u.ID])
		}
	}
	var escrow, held int64
	for _, p := range m.packets {
		if !p.ended {
			escrow += p.left
		}
	}
	for _, w := range m.withdrawals {
		held += w
	}
	plat, err := r.ledger.Balances(ctx, economy.PlatformAccount(economy.Escrow, economy.Coins), economy.PlatformAccount(economy.Holds, economy.Earnings))
	if err != nil {
		r.t.Fatal(err)
	}
	if plat[economy.PlatformAccount(economy.Escrow, economy.Coins)] != escrow || plat[economy.PlatformAccount(economy.Holds, economy.Earnings)] != held {
		r.t.Fatalf("step %d (%s): escrow %v, holds %v; the model says %d and %d", step, what, plat[economy.PlatformAccount(economy.Escrow, economy.Coins)], plat[economy.PlatformAccount(economy.Holds, economy.Earnings)], escrow, held)
	}
	rep, err := r.ledger.Verify(ctx)
	if err != nil || !rep.OK() {
		r.t.Fatalf("step %d (%s): ledger verify: %v %v", step, what, rep.Problems, err)
	}
}

// Random sequences of recharges, gifts, red packets, grabs, expiries,
// withdrawals, approvals and rejections: after every step the books balance
// and every balance is what a simple model says. ECONOMY_SEED replays a run.
func TestEconomyProperty(t *testing.T) {
	for _, e := range ledgertest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			seed := uint64(time.Now().UnixNano())
			if s := os.Getenv("ECONOMY_SEED"); s != "" {
				seed, _ = strconv.ParseUint(s, 10, 64)
			}
			t.Logf("ECONOMY_SEED=%d", seed)
			rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
			steps := 150
			if e.Name == "postgres" {
				steps = 80
			}
			runProperty(t, newEconomyRig(t, e), rng, steps)
		})
	}
}

func runProperty(t *testing.T, r *economyRig, rng *rand.Rand, steps int) {
	ctx := context.Background()
	m := &books{coins: map[string]int64{}, earnings: map[string]int64{}, packets: map[string]*packetModel{}, withdrawals: map[string]int64{}}
	viewers, streamers := r.users[:3], r.users[3:]
	anyone := func() store.User { return r.users[rng.IntN(len(r.users))] }
	var open []string // red packets not ended, in creation order
	prices := map[string]int64{"heart": 1, "rose": 10, "cake": 100, "rocket": 1000}
	giftIDs := []string{"heart", "rose", "cake", "rocket"}
	done := map[string]int{} // operations tried, by kind
	defer func() { t.Logf("%d steps: %v", steps, done) }()
	for step := range steps {
		key := fmt.Sprint("k", step)
		var what string
		switch op := rng.IntN(100); {
		case op < 20: // a recharge, paid or failed
			u, p := viewers[rng.IntN(3)], r.terms.Packages[rng.IntN(len(r.terms.Packages))]
			paid := rng.IntN(5) > 0
			what = fmt.Sprintf("recharge %s %s paid=%v", u.Name, p.ID, paid)
			if err := r.recharge(u.ID, p.ID, key, paid); err != nil {
				t.Fatalf("step %d (%s): %v", step, what, err)
			}
			if paid {
				m.coins[u.ID] += r.terms.Coins(p)
			}
		case op < 45: // a gift, possibly more than the sender has
			from, to := anyone(), streamers[rng.IntN(2)]
			g, n := giftIDs[rng.IntN(len(giftIDs))], 1+rng.IntN(3)
			if from.ID == to.ID {
				continue
			}
			what = fmt.Sprintf("gift %s×%d %s→%s", g, n, from.Name, to.Name)
			_, err := r.gifts.Send(ctx, gift.Request{Room: to.Name, From: gift.Party{ID: from.ID, Name: from.Name}, To: gift.Party{ID: to.ID, Name: to.Name}, Gift: g, Count: n, Key: key})
			value := prices[g] * int64(n)
			switch {
			case value > m.coins[from.ID]:
				if !errors.Is(err, economy.ErrInsufficientFunds) {
					t.Fatalf("step %d (%s) with %d coins: %v, want insufficient funds", step, what, m.coins[from.ID], err)
				}
			case err != nil:
				t.Fatalf("step %d (%s): %v", step, what, err)
			default:
				earned, _ := econterms.Split(value, r.terms.CommissionPercent)
				m.coins[from.ID] -= value
				m.earnings[to.ID] += earned
			}
		case op < 58: // a red packet
			from := anyone()
			shares := 1 + rng.IntN(5)
			coins := int64(shares + rng.IntN(300))
			what = fmt.Sprintf("red packet %d/%d by %s", coins, shares, from.Name)
			c, err := r.packets.Create(ctx, redpacket.CreateRequest{Room: streamers[0].Name, From: redpacket.Party{ID: from.ID, Name: from.Name}, Coins: coins, Shares: shares, Key: key})
			switch {
			case coins > m.coins[from.ID]:
				if !errors.Is(err, economy.ErrInsufficientFunds) {
					t.Fatalf("step %d (%s) with %d coins: %v, want insufficient funds", step, what, m.coins[from.ID], err)
				}
			case err != nil:
				t.Fatalf("step %d (%s): %v", step, what, err)
			default:
				m.coins[from.ID] -= coins
				m.packets[c.Packet.ID] = &packetModel{sender: from.ID, left: coins, shares: shares, grabbed: map[string]bool{}}
				open = append(open, c.Packet.ID)
			}
		case op < 80: // a grab
			if len(open) == 0 {
				continue
			}
			id, u := open[rng.IntN(len(open))], anyone()
			p := m.packets[id]
			what = fmt.Sprintf("grab %s by %s", id, u.Name)
			g, err := r.packets.Grab(ctx, id, redpacket.Party{ID: u.ID, Name: u.Name})
			switch {
			case p.grabbed[u.ID]:
				// Of an empty packet, "empty" is as true (and answered
				// without the store).
				if !errors.Is(err, redpacket.ErrAlreadyGrabbed) && !(p.shares == 0 && errors.Is(err, redpacket.ErrEmpty)) {
					t.Fatalf("step %d (%s) again: %v", step, what, err)
				}
			case p.shares == 0:
				if !errors.Is(err, redpacket.ErrEmpty) {
					t.Fatalf("step %d (%s) of an empty packet: %v", step, what, err)
				}
			case err != nil:
				t.Fatalf("step %d (%s): %v", step, what, err)
			default:
				if g.Coins < 1 || g.Coins > p.left || (p.shares == 1 && g.Coins != p.left) {
					t.Fatalf("step %d (%s): a share of %d with %d left in %d shares", step, what, g.Coins, p.left, p.shares)
				}
				p.grabbed[u.ID] = true
				p.left -= g.Coins
				p.shares--
				m.coins[u.ID] += g.Coins
			}
		case op < 84: // time passes: every open packet expires and is refunded
			what = "expiry"
			r.clock = r.clock.Add(time.Duration(r.terms.RedPacketTTL) + time.Second)
			if err := r.packets.Sweep(ctx); err != nil {
				t.Fatalf("step %d (%s): %v", step, what, err)
			}
			for _, id := range open {
				p := m.packets[id]
				m.coins[p.sender] += p.left
				p.left, p.ended = 0, true
			}
			open = open[:0]
		case op < 93: // a withdrawal request
			s := streamers[rng.IntN(2)]
			amount := int64(50 + rng.IntN(400))
			what = fmt.Sprintf("withdraw %d by %s", amount, s.Name)
			w, err := r.wallet.Withdraw(ctx, wallet.WithdrawRequest{UserID: s.ID, Earnings: amount, Key: key})
			switch {
			case amount < r.terms.WithdrawMin:
				if !errors.Is(err, wallet.ErrBelowMinimum) {
					t.Fatalf("step %d (%s): %v, want below the minimum", step, what, err)
				}
			case amount > m.earnings[s.ID]:
				if !errors.Is(err, economy.ErrInsufficientFunds) {
					t.Fatalf("step %d (%s) with %d earnings: %v, want insufficient funds", step, what, m.earnings[s.ID], err)
				}
			case err != nil:
				t.Fatalf("step %d (%s): %v", step, what, err)
			default:
				m.earnings[s.ID] -= amount
				m.withdrawals[w.ID] = amount
			}
		default: // an admin approves or rejects a pending withdrawal
			var id string
			for k := range m.withdrawals {
				id = k
				break
			}
			if id == "" {
				continue
			}
			approve := rng.IntN(2) == 0
			what = fmt.Sprintf("withdrawal %s approve=%v", id, approve)
			var w wallet.Withdrawal
			var err error
			if approve {
				w, err = r.wallet.Approve(ctx, id, r.admin.ID, "")
			} else {
				w, err = r.wallet.Reject(ctx, id, r.admin.ID, "the account details do not match")
			}
			if err != nil {
				t.Fatalf("step %d (%s): %v", step, what, err)
			}
			if !approve {
				m.earnings[w.UserID] += m.withdrawals[id]
			}
			delete(m.withdrawals, id)
		}
		r.check(m, step, what)
		done[strings.Fields(what)[0]]++
	}
}
