package redpacket

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/settings"
)

// Party is a sender or a grabber: a user's id and login name.
type Party struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Status is where a packet is in its life (see the package doc).
type Status string

const (
	// Pending: written; its create transaction is not known to be committed.
	Pending Status = "pending"
	// Open: committed; grabbable until it expires or its shares run out.
	Open Status = "open"
	// Ended: no more grabs; shares to pay and a refund to post.
	Ended Status = "ended"
	// Done: every claimed share paid, the rest refunded.
	Done Status = "done"
	// Canceled: the ledger refused the create; nothing moved.
	Canceled Status = "canceled"
)

// Packet is a red packet.
type Packet struct {
	ID        string
	CreateKey string // the ledger key of its create
	Room      string
	Sender    Party
	Coins     int64
	Shares    int
	Split     []int64 // coins of share i; only Store.Packet and Store.Create fill it
	Claimed   int     // shares claimed: the next grab gets share Claimed
	Status    Status
	CreatedAt time.Time
	ExpiresAt time.Time
	AttemptAt time.Time // when a post of its create last started
	CreateTxn string
	EndedAt   time.Time
	Refunded  int64
	RefundTxn string
}

// Left is how many shares can still be claimed.
func (p Packet) Left() int { return p.Shares - p.Claimed }

// Grab is a claimed share.
type Grab struct {
	Packet  string
	Room    string
	Share   int   // its index in the split
	Coins   int64 // what it holds
	Left    int   // shares left after it
	User    Party
	At      time.Time
	PaidTxn string // set once paid
}

// Store keeps packets and claims (*store.DB through economy/redpacket/dbstore
// implements it). Status changes are compare-and-set: each names the states
// it leaves, so nodes finishing the same packet at once apply it once.
type Store interface {
	// Create keeps p (its ID, Status and AttemptAt are set by the store) as
	// pending with its split and returns it with created true; if a packet
	// has p's CreateKey already, it returns that one unchanged, created false.
	Create(ctx context.Context, p Packet) (_ Packet, created bool, err error)
	// Packet and ByKey return a packet with its split, or ErrNotFound.
	Packet(ctx context.Context, id string) (Packet, error)
	ByKey(ctx context.Context, createKey string) (Packet, error)
	// StartAttempt makes a pending or canceled packet pending with AttemptAt
	// at, before a post of its create; started is false (and the packet
	// unchanged) when its create committed already.
	StartAttempt(ctx context.Context, id string, at time.Time) (_ Packet, started bool, err error)
	// Open opens a pending or canceled packet whose create committed as txn;
	// an open one stays as it is.
	Open(ctx context.Context, id, txn string) error
	// Cancel cancels a pending packet whose attempt started at attemptAt;
	// false when it is not pending or a later attempt started.
	Cancel(ctx context.Context, id string, attemptAt time.Time) (bool, error)
	// Grab claims the next share for user at at, atomically: each user at
	// most once per packet, the first Shares users get shares 0, 1, ... in
	// the order their claims commit; the last claim ends the packet. Errors:
	// ErrNotFound (also while pending), ErrEmpty, ErrExpired (at or past
	// ExpiresAt, or ended), ErrAlreadyGrabbed with the user's grab.
	Grab(ctx context.Context, id string, user Party, at time.Time) (Grab, error)
	// Grabs returns a packet's claims in share order; GrabsBy a user's
	// claims among packets ids (at most 500), by packet.
	Grabs(ctx context.Context, id string) ([]Grab, error)
	GrabsBy(ctx context.Context, userID string, ids []string) (map[string]Grab, error)
	// MarkPaid records the payment of a share; a share paid already keeps
	// its first transaction.
	MarkPaid(ctx context.Context, id string, share int, txn string) error
	// End ends an open packet expired at at (false if not open or not
	// expired).
	End(ctx context.Context, id string, at time.Time) (bool, error)
	// Finish marks an ended packet done, refunded coins (its unclaimed
	// shares, by txn; "" for none) back to the sender; it refuses while a
	// claimed share is unpaid or when refunded is not what is unclaimed.
	Finish(ctx context.Context, id string, refunded int64, txn string) error
	// OpenIn lists a room's grabbable packets at at, oldest first, without
	// their split.
	OpenIn(ctx context.Context, room string, at time.Time, limit int) ([]Packet, error)
	// Due lists up to limit packets with work at at: pending ones whose
	// attempt started before staleBefore, open ones expired, ended ones.
	Due(ctx context.Context, at, staleBefore time.Time, limit int) ([]Packet, error)
	// Unpaid lists up to limit claims made before before and not paid.
	Unpaid(ctx context.Context, before time.Time, limit int) ([]Grab, error)
}

// Ledger moves the coins; *economy.Ledger is one.
type Ledger interface {
	Post(ctx context.Context, t economy.Txn) (economy.Receipt, error)
	Balance(ctx context.Context, id economy.AccountID) (int64, error)
}

// Terms are the admin's limits on red packets.
type Terms interface {
	Settings(ctx context.Context) (settings.Settings, error)
}

// Config tunes the service. Zero values mean the defaults.
type Config struct {
	// SweepInterval is how often the sweeper looks for work.
	SweepInterval time.Duration `yaml:"sweep_interval"`
	// PostTimeout bounds each post of a create, so that after it (and the
	// ledger's commit timeout) the post has committed or never will.
	PostTimeout time.Duration `yaml:"post_timeout"`
	// StaleAfter is how old a pending create's last attempt is before the
	// sweeper finishes or cancels it. It must exceed PostTimeout plus the
	// ledger's commit timeout plus the clock skew between nodes.
	StaleAfter time.Duration `yaml:"stale_after"`
	// RepayAfter is how old an unpaid claim is before the sweeper pays it.
	RepayAfter time.Duration `yaml:"repay_after"`
	// MaxGrabs bounds the grabs that talk to the store at once (each holds
	// a database connection); the rest wait their turn.
	MaxGrabs int `yaml:"max_grabs"`
}

// DefaultConfig is the configuration that zero values stand for.
func DefaultConfig() Config {
	return Config{SweepInterval: time.Second, PostTimeout: 15 * time.Second, StaleAfter: 2 * time.Minute, RepayAfter: 5 * time.Second, MaxGrabs: 8}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.SweepInterval <= 0 {
		c.SweepInterval = d.SweepInterval
	}
	if c.PostTimeout <= 0 {
		c.PostTimeout = d.PostTimeout
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = d.StaleAfter
	}
	if c.RepayAfter <= 0 {
		c.RepayAfter = d.RepayAfter
	}
	if c.MaxGrabs <= 0 {
		c.MaxGrabs = d.MaxGrabs
	}
	return c
}

// Deps are what the service works with.
type Deps struct {
	Store  Store  // required
	Ledger Ledger // required
	Terms  Terms  // required
	Log    *slog.Logger
	Now    func() time.Time // default time.Now
}

// Service creates, grabs and settles red packets. It is safe for concurrent
// use; several nodes may run one on the same store and ledger. Start runs its
// sweeper; Close stops it.
type Service struct {
	cfg    Config
	store  Store
	ledger Ledger
	terms  Terms
	log    *slog.Logger
	now    func() time.Time

	grabs chan struct{} // a slot per grab in the store (Config.MaxGrabs)

	// over remembers packets that take no more grabs (ErrEmpty or
	// ErrExpired: final), so a rush on a finished packet is answered without
	// the store.
	overMu sync.Mutex
	over   map[string]error
	rooms  map[string]string // packet → its room, as RoomOf found it (it never changes)

	runMu sync.Mutex
	stop  context.CancelFunc // set by Start
	done  chan struct{}      // closed when the sweeper returns
}

// maxOver bounds Service.over; when full it starts again.
const maxOver = 4096

// New makes a service; it starts nothing (see Start).
func New(cfg Config, d Deps) (*Service, error) {
	if d.Store == nil || d.Ledger == nil || d.Terms == nil {
		return nil, errors.New("redpacket: a service needs a store, a ledger and terms")
	}
	cfg = cfg.withDefaults()
	s := &Service{cfg: cfg, store: d.Store, ledger: d.Ledger, terms: d.Terms, log: d.Log, now: d.Now,
		grabs: make(chan struct{}, cfg.MaxGrabs), over: map[string]error{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "redpacket")
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// MaxKeyLen is the longest client idempotency key.
const MaxKeyLen = 64

// CreateRequest is a packet to drop.
type CreateRequest struct {
	Room   string
	From   Party
	Coins  int64
	Shares int
	Key    string // the client's idempotency key: 1 to MaxKeyLen printable ASCII
}

// Created is a create's outcome.
type Created struct {
	Packet   Packet
	TxnID    string
	Balance  int64 // the sender's coins after it
	Replayed bool  // a retry of a create that committed before: nothing moved now
}

// Create drops a packet: it checks the request against the terms, splits the
// coins, and moves them from the sender to escrow with the packet's
// `redpacket` event. A retry with the same Key and the same request returns
// the first outcome (Replayed) and moves nothing; the same Key for another
// request is economy.ErrKeyReused. Errors a person can act on:
// ErrInvalid, economy.ErrInsufficientFunds.
func (s *Service) Create(ctx context.Context, r CreateRequest) (Created, error) {
	t, err := s.check(ctx, r)
	if err != nil {
		return Created{}, err
	}
	key := createKey(r.From.ID, r.Key)
	sender := economy.UserAccount(r.From.ID, economy.Coins)
	bal, err := s.ledger.Balance(ctx, sender)
	if err != nil {
		return Created{}, err
	}
	if bal < r.Coins {
		// Short before anything is written, unless this is a retry of a
		// create that went through (the coins are gone into it).
		p, err := s.store.ByKey(ctx, key)
		if errors.Is(err, ErrNotFound) {
			return Created{}, &economy.InsufficientFundsError{Account: sender, Currency: economy.Coins, Needed: r.Coins, Balance: bal}
		}
		if err != nil {
			return Created{}, err
		}
		if !sameRequest(p, r) {
			return Created{}, economy.ErrKeyReused
		}
	}
	now := s.now()
	p, created, err := s.store.Create(ctx, Packet{CreateKey: key, Room: r.Room, Sender: r.From, Coins: r.Coins, Shares: r.Shares,
		Split: Split(r.Coins, r.Shares, nil), CreatedAt: now, ExpiresAt: now.Add(time.Duration(t.RedPacketTTL))})
	if err != nil {
		return Created{}, err
	}
	if !created {
		if !sameRequest(p, r) {
			return Created{}, economy.ErrKeyReused
		}
		var started bool
		if p, started, err = s.store.StartAttempt(ctx, p.ID, now); err != nil {
			return Created{}, err
		}
		if !started { // committed before
			bal, err := s.ledger.Balance(ctx, sender)
			return Created{Packet: p, TxnID: p.CreateTxn, Balance: bal, Replayed: true}, err
		}
	}
	rec, err := s.postCreate(ctx, p)
	switch {
	case err == nil:
	case created && refused(err):
		// The first attempt, refused: no other post of this key is in
		// flight, so none can commit later.
		if _, cerr := s.store.Cancel(ctx, p.ID, p.AttemptAt); cerr != nil {
			s.log.Warn("cancel", "packet", p.ID, "err", cerr)
		}
		return Created{}, err
	default:
		// Unknown, or a retry refused while an earlier attempt may still
		// commit: the packet stays pending for a retry or the sweeper.
		return Created{}, err
	}
	if err := s.store.Open(ctx, p.ID, rec.TxnID); err != nil {
		// The coins are in escrow and the packet pending: a retry with the
		// same key, or the sweeper, opens it.
		return Created{}, err
	}
	p.Status, p.CreateTxn = Open, rec.TxnID
	return Created{Packet: p, TxnID: rec.TxnID, Balance: rec.Balances[sender], Replayed: rec.Replayed}, nil
}

// check refuses a request that the terms or the ledger's limits do not
// allow, and returns the terms.
func (s *Service) check(ctx context.Context, r CreateRequest) (settings.Settings, error) {
	if r.Room == "" || r.From.ID == "" {
		return settings.Settings{}, invalidf("A red packet needs a room and a sender")
	}
	if !validKey(r.Key) {
		return settings.Settings{}, invalidf("Send an idempotency_key of 1 to %d printable characters without spaces", MaxKeyLen)
	}
	t, err := s.terms.Settings(ctx)
	if err != nil {
		return settings.Settings{}, err
	}
	switch {
	case r.Coins < 1 || r.Coins > t.RedPacketMaxCoins:
		err = invalidf("A red packet holds 1 to %d coins", t.RedPacketMaxCoins)
	case r.Shares < 1 || r.Shares > t.RedPacketMaxShares:
		err = invalidf("A red packet has 1 to %d shares", t.RedPacketMaxShares)
	case int64(r.Shares) > r.Coins:
		err = invalidf("%d coins cannot fill %d shares: each share is at least 1 coin", r.Coins, r.Shares)
	case r.Coins > economy.MaxAmount:
		err = invalidf("A red packet holds at most %d coins", int64(economy.MaxAmount))
	}
	return t, err
}

func sameRequest(p Packet, r CreateRequest) bool {
	return p.Room == r.Room && p.Sender.ID == r.From.ID && p.Coins == r.Coins && p.Shares == r.Shares
}

// refused: the ledger turned the transaction down for good; nothing moved.
func refused(err error) bool {
	return errors.Is(err, economy.ErrInsufficientFunds) || errors.Is(err, economy.ErrKeyReused) || errors.Is(err, economy.ErrInvalid)
}

func validKey(k string) bool {
	if k == "" || len(k) > MaxKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// Grabbed is a grab's outcome.
type Grabbed struct {
	Grab
	Balance int64 // the grabber's coins after it
}

// Grab claims the next share of the packet for user and pays it. Each user
// gets at most one share of a packet; the first Shares users get one each.
// Refusals: ErrNotFound, ErrEmpty, ErrExpired, ErrAlreadyGrabbed. A share
// claimed but not paid (a crash, a failed post) is paid by the same user's
// next grab, which then answers with it, or by the sweeper. Of grabs by one
// user at once, exactly one answers with the share.
func (s *Service) Grab(ctx context.Context, packetID string, user Party) (Grabbed, error) {
	if user.ID == "" {
		return Grabbed{}, invalidf("Log in to grab a red packet")
	}
	if err := s.isOver(packetID); err != nil {
		return Grabbed{}, err
	}
	select {
	case s.grabs <- struct{}{}:
	case <-ctx.Done():
		return Grabbed{}, ctx.Err()
	}
	g, err := s.store.Grab(ctx, packetID, user, s.now())
	<-s.grabs
	switch {
	case errors.Is(err, ErrAlreadyGrabbed) && g.PaidTxn == "":
		// Claimed by an earlier grab that did not pay it (yet): pay it.
	case errors.Is(err, ErrEmpty), errors.Is(err, ErrExpired):
		s.setOver(packetID, err)
		return Grabbed{}, err
	case err != nil:
		return Grabbed{}, err
	}
	rec, err := s.pay(ctx, g)
	if err != nil {
		return Grabbed{}, err
	}
	if rec.Replayed {
		// Another grab by this user (a double tap) paid it: the one whose
		// payment committed answers with the share.
		return Grabbed{}, ErrAlreadyGrabbed
	}
	return Grabbed{Grab: g, Balance: rec.Balances[economy.UserAccount(user.ID, economy.Coins)]}, nil
}

func (s *Service) isOver(id string) error {
	s.overMu.Lock()
	defer s.overMu.Unlock()
	return s.over[id]
}

func (s *Service) setOver(id string, err error) {
	s.overMu.Lock()
	defer s.overMu.Unlock()
	if len(s.over) >= maxOver {
		clear(s.over)
	}
	s.over[id] = err
}

// RoomOf is the room packet id was dropped in (ErrNotFound): for the caller
// to check that a grabber may be there. A packet's room never changes, so it
// is kept once read (a grab storm reads it once).
func (s *Service) RoomOf(ctx context.Context, id string) (string, error) {
	s.overMu.Lock()
	r, ok := s.rooms[id]
	s.overMu.Unlock()
	if ok {
		return r, nil
	}
	p, err := s.store.Packet(ctx, id)
	if err != nil {
		return "", err
	}
	s.overMu.Lock()
	defer s.overMu.Unlock()
	if s.rooms == nil || len(s.rooms) >= maxOver {
		s.rooms = map[string]string{}
	}
	s.rooms[id] = p.Room
	return p.Room, nil
}

// Listed is an open packet as a viewer sees it.
type Listed struct {
	Packet
	Mine *Grab // the viewer's share of it, if they have one
}

// MaxList is the most packets Open returns.
const MaxList = 50

// Open lists the room's packets that can be grabbed now, oldest first, with
// viewerID's share of each (viewerID "" for nobody).
func (s *Service) Open(ctx context.Context, room, viewerID string) ([]Listed, error) {
	ps, err := s.store.OpenIn(ctx, room, s.now(), MaxList)
	if err != nil {
		return nil, err
	}
	mine := map[string]Grab{}
	if viewerID != "" && len(ps) > 0 {
		ids := make([]string, len(ps))
		for i, p := range ps {
			ids[i] = p.ID
		}
		if mine, err = s.store.GrabsBy(ctx, viewerID, ids); err != nil {
			return nil, err
		}
	}
	out := make([]Listed, len(ps))
	for i, p := range ps {
		out[i].Packet = p
		if g, ok := mine[p.ID]; ok {
			out[i].Mine = &g
		}
	}
	return out, nil
}

// postCreate posts p's create transaction (with its event), bounded by
// PostTimeout so that a stale attempt is decided for the sweeper.
func (s *Service) postCreate(ctx context.Context, p Packet) (economy.Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.PostTimeout)
	defer cancel()
	return s.ledger.Post(ctx, createTxn(p))
}

// pay posts a claimed share's payment (with its event) and marks it paid.
func (s *Service) pay(ctx context.Context, g Grab) (economy.Receipt, error) {
	rec, err := s.ledger.Post(ctx, grabTxn(g))
	if err != nil {
		return economy.Receipt{}, err
	}
	if err := s.store.MarkPaid(ctx, g.Packet, g.Share, rec.TxnID); err != nil {
		// Paid in the ledger; the sweeper's replay marks it.
		s.log.Warn("mark paid", "packet", g.Packet, "share", g.Share, "err", err)
	}
	return rec, nil
}
