// Package gift sends gifts: a viewer spends coins on an item of the catalog
// for a streamer, who earns its value minus the platform's commission. The
// money moves in one ledger transaction, committed with its `gift` event, so
// the room sees a gift (its effect, the leaderboards) only once the money has
// moved, and exactly once per idempotency key. Repeated sends of the same gift
// by the same viewer within the combo window make a combo: each event carries
// the running count, so clients show "x10" rising instead of ten banners.
package gift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/settings"
)

// Errors a sender sees; each wraps one of these.
var (
	ErrNoSuchGift = errors.New("gift: no such gift")
	ErrBadRequest = errors.New("gift: bad request")
)

// MaxCount is the most of one gift in one send.
const MaxCount = 9999

// Item is a gift of the catalog.
type Item struct {
	ID, Name, Icon string
	Effect         string // banner or fullscreen
	Price          int64  // coins
	Enabled        bool
}

// Catalog finds gifts.
type Catalog interface {
	Gift(ctx context.Context, id string) (Item, error) // ErrNoSuchGift when unknown
}

// Terms are the economy's settings and a streamer's own commission.
type Terms interface {
	Settings(ctx context.Context) (settings.Settings, error)
	// Commission is the streamer's own commission percent, if they have one.
	Commission(ctx context.Context, streamerID string) (percent int, ok bool, err error)
}

// Poster moves the money; *economy.Ledger is one.
type Poster interface {
	Post(ctx context.Context, t economy.Txn) (economy.Receipt, error)
}

// Party is a sender or a streamer.
type Party struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Request is one send.
type Request struct {
	Room      string
	Broadcast string // the room's live session, if it is live
	From, To  Party  // To: the room's streamer (or a co-host)
	Gift      string
	Count     int
	Key       string // the client's idempotency key
}

// Result is a committed send.
type Result struct {
	TxnID    string
	Coins    int64 // what it cost
	Balance  int64 // the sender's coins after it
	Combo    int   // the running count of the combo this send belongs to
	Replayed bool  // a retry of a send already committed: nothing moved now
}

// EventBody is the body of a `gift` event (economy events are room envelopes
// without an id; see Service.Send). Earned and Broadcast are for the
// leaderboards; the room's copy leaves them out.
type EventBody struct {
	Gift      string `json:"gift"`
	Name      string `json:"name"`
	Icon      string `json:"icon"`
	Count     int    `json:"count"`
	Combo     int    `json:"combo"`
	Effect    string `json:"effect"`
	Coins     int64  `json:"coins"`
	To        Party  `json:"to"`
	Earned    int64  `json:"earned,omitempty"`
	Broadcast string `json:"broadcast,omitempty"`
}

// Event is the payload of a gift's outbox event.
type Event struct {
	V    int       `json:"v"`
	Type string    `json:"type"` // gift
	Room string    `json:"room"`
	From Party     `json:"from"`
	TS   int64     `json:"ts"`
	Body EventBody `json:"body"`
}

// Subject is where a room's gift events go.
func Subject(room string) string { return "onair.economy.gift." + room }

// Service sends gifts. It is safe for concurrent use.
type Service struct {
	Catalog Catalog
	Terms   Terms
	Ledger  Poster
	// ComboWindow is how soon the same gift from the same sender in the same
	// room continues a combo. Default 5 s.
	ComboWindow time.Duration
	Now         func() time.Time

	mu     sync.Mutex
	combos map[string]combo // room, sender, gift → the open combo
	swept  time.Time
}

type combo struct {
	count int
	last  time.Time
}

// Send moves Count × the gift's price in coins from the sender to the
// platform and the value minus commission, in earnings, to the streamer; the
// commission goes to the platform's revenue. A retry with the same Key
// returns the first send's result and moves nothing.
func (s *Service) Send(ctx context.Context, r Request) (Result, error) {
	if r.Count < 1 || r.Count > MaxCount {
		return Result{}, fmt.Errorf("%w: send 1 to %d at a time", ErrBadRequest, MaxCount)
	}
	if r.Key == "" || len(r.Key) > 64 {
		return Result{}, fmt.Errorf("%w: an idempotency_key of 1 to 64 characters is required", ErrBadRequest)
	}
	if r.From.ID == r.To.ID {
		return Result{}, fmt.Errorf("%w: you cannot send gifts to yourself", ErrBadRequest)
	}
	item, err := s.Catalog.Gift(ctx, r.Gift)
	if err != nil {
		return Result{}, err
	}
	if !item.Enabled {
		return Result{}, fmt.Errorf("%w: %s is not available now", ErrNoSuchGift, item.Name)
	}
	if item.Price > math.MaxInt64/int64(r.Count) || item.Price*int64(r.Count) > economy.MaxAmount {
		return Result{}, fmt.Errorf("%w: that is too many %s at once", ErrBadRequest, item.Name)
	}
	value := item.Price * int64(r.Count)
	percent, err := s.commission(ctx, r.To.ID)
	if err != nil {
		return Result{}, err
	}
	earned, kept := settings.Split(value, percent)

	now := s.now()
	key := r.Room + "\x00" + r.From.ID + "\x00" + item.ID
	run := s.peekCombo(key, now) + r.Count
	payload, _ := json.Marshal(Event{V: 1, Type: "gift", Room: r.Room, From: r.From, TS: now.UnixMilli(), Body: EventBody{
		Gift: item.ID, Name: item.Name, Icon: item.Icon, Count: r.Count, Combo: run, Effect: item.Effect,
		Coins: value, To: r.To, Earned: earned, Broadcast: r.Broadcast,
	}})
	sender := economy.UserAccount(r.From.ID, economy.Coins)
	postings := []economy.Posting{
		{Account: sender, Currency: economy.Coins, Amount: -value},
		{Account: economy.PlatformAccount(economy.Issuance, economy.Coins), Currency: economy.Coins, Amount: value},
		{Account: economy.PlatformAccount(economy.Issuance, economy.Earnings), Currency: economy.Earnings, Amount: -value},
	}
	if earned > 0 {
		postings = append(postings, economy.Posting{Account: economy.UserAccount(r.To.ID, economy.Earnings), Currency: economy.Earnings, Amount: earned})
	}
	if kept > 0 {
		postings = append(postings, economy.Posting{Account: economy.PlatformAccount(economy.Revenue, economy.Earnings), Currency: economy.Earnings, Amount: kept})
	}
	rec, err := s.Ledger.Post(ctx, economy.Txn{
		Key:      "gift:" + r.From.ID + ":" + r.Key,
		Kind:     "gift",
		Postings: postings,
		Event:    &economy.Event{Subject: Subject(r.Room), Payload: payload},
		Metadata: map[string]string{"room": r.Room, "gift": item.ID, "count": strconv.Itoa(r.Count), "to": r.To.ID},
	})
	if err != nil {
		return Result{}, err
	}
	res := Result{TxnID: rec.TxnID, Coins: value, Balance: rec.Balances[sender], Combo: run, Replayed: rec.Replayed}
	if !rec.Replayed {
		s.advanceCombo(key, r.Count, now)
	}
	return res, nil
}

func (s *Service) commission(ctx context.Context, streamerID string) (int, error) {
	p, ok, err := s.Terms.Commission(ctx, streamerID)
	if err != nil || ok {
		return p, err
	}
	set, err := s.Terms.Settings(ctx)
	if err != nil {
		return 0, err
	}
	return set.CommissionPercent, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) window() time.Duration {
	if s.ComboWindow > 0 {
		return s.ComboWindow
	}
	return 5 * time.Second
}

// peekCombo is the running count before this send: the open combo's, or 0.
func (s *Service) peekCombo(key string, now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.combos[key]; ok && now.Sub(c.last) < s.window() {
		return c.count
	}
	return 0
}

// advanceCombo counts a committed send: only money that moved makes a combo.
func (s *Service) advanceCombo(key string, n int, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.combos == nil {
		s.combos = map[string]combo{}
	}
	w := s.window()
	if now.Sub(s.swept) >= w { // forget closed combos once per window
		s.swept = now
		for k, c := range s.combos {
			if now.Sub(c.last) >= w {
				delete(s.combos, k)
			}
		}
	}
	c := s.combos[key]
	if now.Sub(c.last) >= w {
		c.count = 0
	}
	s.combos[key] = combo{count: c.count + n, last: now}
}
