package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/board"
	"github.com/onair-live/onair/economy/board/memboard"
	"github.com/onair-live/onair/economy/board/redisboard"
	"github.com/onair-live/onair/economy/gift"
	econterms "github.com/onair-live/onair/economy/settings"
	"github.com/onair-live/onair/economy/sqlstore"
	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/store"
)

// EconomyConfig tunes the money plane.
type EconomyConfig struct {
	Ledger economy.Config `yaml:"ledger"`
	Boards board.Config   `yaml:"boards"`
	// ComboWindow: the same gift again this soon continues a combo.
	ComboWindow time.Duration `yaml:"combo_window"`
}

// economyStream keeps the events of committed transactions. Its duplicate
// window is what makes the outbox relay's at-least-once publishing exactly
// once (economy.Publisher): longer than a node may stay down.
const economyStream = "ECONOMY"

// money is the node's economy: the ledger (group commit on the system of
// record) and its outbox relay into the ECONOMY stream, the leaderboards, and
// the feed that turns committed events into what rooms and users see.
type money struct {
	ledger *economy.Ledger
	boards board.Store
	gifts  *gift.Service
	feed   jetstream.ConsumeContext
	log    *slog.Logger
}

func newMoney(ctx context.Context, cfg Config, db *store.DB, nc *nats.Conn, js jetstream.JetStream, log *slog.Logger) (m *money, err error) {
	m = &money{log: log.With("component", "economy")}
	defer func() {
		if err != nil {
			m.close()
		}
	}()
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: economyStream, Subjects: []string{"onair.economy.>"}, Storage: jetstream.FileStorage,
		MaxAge: 7 * 24 * time.Hour, Duplicates: 24 * time.Hour,
	}); err != nil {
		return nil, fmt.Errorf("jetstream stream %s: %w", economyStream, err)
	}
	if m.ledger, err = economy.NewLedger(cfg.Economy.Ledger, economy.Deps{Store: sqlstore.New(db), Publisher: jsPublisher{js}, Log: log}); err != nil {
		return nil, err
	}
	if cfg.Redis == "" {
		m.boards, err = memboard.New(cfg.Economy.Boards)
	} else {
		m.boards, err = redisboard.New(ctx, cfg.Redis, cfg.Economy.Boards)
	}
	if err != nil {
		return nil, fmt.Errorf("leaderboards: %w", err)
	}
	if cfg.Redis == "" {
		// Boards in memory start empty: fill them from the ledger before
		// the feed adds to them (what the feed redelivers counts once).
		start := time.Now()
		if err := m.boards.Rebuild(ctx, giftCredits(ctx, db)); err != nil {
			return nil, fmt.Errorf("leaderboards from the ledger: %w", err)
		}
		m.log.Info("leaderboards rebuilt from the ledger", "took", time.Since(start).Round(time.Millisecond))
	}
	m.gifts = &gift.Service{Catalog: catalog{db}, Terms: terms{db}, Ledger: m.ledger, ComboWindow: cfg.Economy.ComboWindow}
	return m, nil
}

// startFeed consumes committed events: every node takes a share (one durable
// consumer), credits the leaderboards and republishes each event to the room
// or user it is for, with the transaction's id as the envelope id, so a
// redelivered event reaches clients (and boards) once.
func (m *money) startFeed(ctx context.Context, nc *nats.Conn, js jetstream.JetStream) error {
	cons, err := js.CreateOrUpdateConsumer(ctx, economyStream, jetstream.ConsumerConfig{
		Durable: "feed", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second,
		FilterSubject: "onair.economy.>", DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("economy feed: %w", err)
	}
	m.feed, err = cons.Consume(func(msg jetstream.Msg) {
		if err := m.deliver(nc, msg); err != nil {
			m.log.Warn("economy event not delivered; retrying", "subject", msg.Subject(), "err", err)
			_ = msg.NakWithDelay(time.Second)
			return
		}
		_ = msg.Ack()
	})
	return err
}

// feedEvent is an economy event's payload: a room envelope without an id,
// addressed to a room or (User) to one user.
type feedEvent struct {
	V    int             `json:"v"`
	Type string          `json:"type"`
	Room string          `json:"room,omitempty"`
	User string          `json:"user,omitempty"`
	From *room.Sender    `json:"from,omitempty"`
	TS   int64           `json:"ts"`
	Body json.RawMessage `json:"body"`
}

func (m *money) deliver(nc *nats.Conn, msg jetstream.Msg) error {
	id := msg.Headers().Get(jetstream.MsgIDHeader)
	var ev feedEvent
	if err := json.Unmarshal(msg.Data(), &ev); err != nil || id == "" || ev.Type == "" {
		m.log.Error("dropping a malformed economy event", "subject", msg.Subject(), "id", id, "err", err)
		return nil // a retry cannot fix it
	}
	body := ev.Body
	if ev.Type == "gift" {
		var g gift.EventBody
		if err := json.Unmarshal(ev.Body, &g); err != nil || ev.From == nil {
			m.log.Error("dropping a malformed gift event", "id", id, "err", err)
			return nil
		}
		err := m.boards.Add(context.Background(), board.Credit{ID: id, Room: ev.Room, Broadcast: g.Broadcast,
			User: ev.From.ID, Streamer: g.To.ID, Amount: g.Coins, Earned: g.Earned, At: time.UnixMilli(ev.TS)})
		if err != nil && !errors.Is(err, board.ErrScoreLimit) {
			return err
		}
		g.Earned, g.Broadcast = 0, "" // for the boards, not for the room
		body, _ = json.Marshal(g)
	}
	env := room.Envelope{V: 1, Type: ev.Type, ID: id, Room: room.ID(ev.Room), From: ev.From, TS: ev.TS, Body: body}
	data, _ := json.Marshal(env)
	switch {
	case ev.Room != "":
		return nc.Publish(room.Subject(room.ID(ev.Room)), data)
	case ev.User != "":
		return nc.Publish(room.UserSubject(ev.User), data)
	}
	return nil
}

func (m *money) close() {
	if m.feed != nil {
		m.feed.Stop()
	}
	if m.ledger != nil {
		if err := m.ledger.Close(); err != nil {
			m.log.Warn("ledger close", "err", err)
		}
	}
	if c, ok := m.boards.(interface{ Close() error }); ok {
		_ = c.Close()
	}
}

// jsPublisher publishes outbox events into JetStream; the stream drops a
// message id it has stored within its duplicate window.
type jsPublisher struct{ js jetstream.JetStream }

func (p jsPublisher) Publish(ctx context.Context, subject string, data []byte, msgID string) error {
	_, err := p.js.Publish(ctx, subject, data, jetstream.WithMsgID(msgID))
	return err
}

// catalog is the store's gift catalog as the gift service reads it.
type catalog struct{ db *store.DB }

func (c catalog) Gift(ctx context.Context, id string) (gift.Item, error) {
	g, err := c.db.GiftByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return gift.Item{}, fmt.Errorf("%w: %q", gift.ErrNoSuchGift, id)
	}
	if err != nil {
		return gift.Item{}, err
	}
	return gift.Item{ID: g.ID, Name: g.Name, Icon: g.Icon, Effect: g.Effect, Price: g.PriceCoins, Enabled: g.Enabled}, nil
}

// moneyEdge is the money plane as the edge and the room chat use it.
type moneyEdge struct {
	m  *money
	db *store.DB
}

func (e moneyEdge) Gifts(ctx context.Context, all bool) ([]store.Gift, error) {
	return e.db.Gifts(ctx, !all)
}

func (e moneyEdge) PutGift(ctx context.Context, g store.Gift) error { return e.db.PutGift(ctx, g) }

// SendGift sends to the room's streamer, crediting the room's live broadcast.
func (e moneyEdge) SendGift(ctx context.Context, roomID string, from room.Sender, giftID string, count int, key string) (gift.Result, error) {
	r, err := e.db.RoomByID(ctx, roomID)
	if err != nil {
		return gift.Result{}, err
	}
	owner, err := e.db.UserByID(ctx, r.OwnerID)
	if err != nil {
		return gift.Result{}, err
	}
	bc, err := e.LiveBroadcast(ctx, roomID)
	if err != nil {
		return gift.Result{}, err
	}
	return e.m.gifts.Send(ctx, gift.Request{Room: roomID, Broadcast: bc, From: gift.Party{ID: from.ID, Name: from.Name},
		To: gift.Party{ID: owner.ID, Name: owner.Name}, Gift: giftID, Count: count, Key: key})
}

func (e moneyEdge) Balances(ctx context.Context, userID string) (coins, earnings int64, err error) {
	c, er := economy.UserAccount(userID, economy.Coins), economy.UserAccount(userID, economy.Earnings)
	b, err := e.m.ledger.Balances(ctx, c, er)
	return b[c], b[er], err
}

func (e moneyEdge) History(ctx context.Context, userID string, cur economy.Currency, cursor string, limit int) (economy.Page, error) {
	return e.m.ledger.History(ctx, economy.UserAccount(userID, cur), cursor, limit)
}

func (e moneyEdge) Terms(ctx context.Context) (econterms.Settings, error) {
	return terms{e.db}.Settings(ctx)
}

func (e moneyEdge) PutTerms(ctx context.Context, t econterms.Settings) error {
	if err := t.Validate(); err != nil {
		return err
	}
	doc, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return e.db.PutEconomySettings(ctx, doc)
}

func (e moneyEdge) SetCommission(ctx context.Context, userID string, percent int) error {
	return e.db.SetStreamerCommission(ctx, userID, percent)
}

func (e moneyEdge) Grant(ctx context.Context, userID string, coins int64, reason, key string) (int64, error) {
	acct := economy.UserAccount(userID, economy.Coins)
	rec, err := e.m.ledger.Post(ctx, economy.Txn{Key: "grant:" + key, Kind: "grant", Postings: []economy.Posting{
		{Account: economy.PlatformAccount(economy.Issuance, economy.Coins), Currency: economy.Coins, Amount: -coins},
		{Account: acct, Currency: economy.Coins, Amount: coins},
	}, Metadata: map[string]string{"reason": reason}})
	return rec.Balances[acct], err
}

func (e moneyEdge) Top(ctx context.Context, b board.Board, n int) ([]board.Entry, error) {
	return e.m.boards.Top(ctx, b, n)
}

func (e moneyEdge) LiveBroadcast(ctx context.Context, roomID string) (string, error) {
	bs, err := e.db.Broadcasts(ctx, roomID, 1)
	if err != nil || len(bs) == 0 || bs[0].EndedAt != nil {
		return "", err
	}
	return bs[0].ID, nil
}

// PostGift is a `gift` message on the room's data channel or socket:
// {"type":"gift","body":{"gift","count","idempotency_key"}}.
func (e moneyEdge) PostGift(ctx context.Context, id room.ID, from room.Sender, body json.RawMessage) error {
	var in struct {
		Gift  string `json:"gift"`
		Count int    `json:"count"`
		Key   string `json:"idempotency_key"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return fmt.Errorf("%w: body must be {\"gift\", \"count\", \"idempotency_key\"}", room.ErrBadMessage)
	}
	_, err := e.SendGift(ctx, string(id), from, in.Gift, in.Count, in.Key)
	return err
}
