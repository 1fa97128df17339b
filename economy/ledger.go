package economy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config tunes the ledger. Zero values mean the defaults.
type Config struct {
	// MaxBatch is the most transactions committed in one database
	// transaction; 1 turns group commit off (one commit per transaction).
	MaxBatch int `yaml:"max_batch"`
	// CommitTimeout bounds one batch's database transaction.
	CommitTimeout time.Duration `yaml:"commit_timeout"`
	// OutboxPoll is how often the relay looks for unpublished events besides
	// being woken by each commit: it publishes what a crashed node committed.
	OutboxPoll time.Duration `yaml:"outbox_poll"`
	// OutboxPage is the most events the relay reads at once.
	OutboxPage int `yaml:"outbox_page"`
	// PublishParallel is how many subjects the relay publishes to at once;
	// the events of one subject go out one after the other, in commit order.
	PublishParallel int `yaml:"publish_parallel"`
	// OutboxGrace is how old an unpublished event may be before Verify
	// reports it.
	OutboxGrace time.Duration `yaml:"outbox_grace"`
}

// DefaultConfig is the configuration that zero values stand for.
func DefaultConfig() Config {
	return Config{
		MaxBatch:        256,
		CommitTimeout:   10 * time.Second,
		OutboxPoll:      time.Second,
		OutboxPage:      512,
		PublishParallel: 16,
		OutboxGrace:     time.Minute,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxBatch <= 0 {
		c.MaxBatch = d.MaxBatch
	}
	if c.CommitTimeout <= 0 {
		c.CommitTimeout = d.CommitTimeout
	}
	if c.OutboxPoll <= 0 {
		c.OutboxPoll = d.OutboxPoll
	}
	if c.OutboxPage <= 0 {
		c.OutboxPage = d.OutboxPage
	}
	if c.PublishParallel <= 0 {
		c.PublishParallel = d.PublishParallel
	}
	if c.OutboxGrace <= 0 {
		c.OutboxGrace = d.OutboxGrace
	}
	return c
}

// Deps are what the ledger works with.
type Deps struct {
	Store Store // required
	// Publisher, if set, runs the outbox relay in this ledger. Without one,
	// events wait in the outbox for a ledger that has one.
	Publisher Publisher
	Log       *slog.Logger     // default: discard
	Now       func() time.Time // default: time.Now
}

// Ledger posts transactions through group commit and reads the books. It owns
// two goroutines, the committer and (with a Publisher) the relay; Close stops
// both. It is safe for concurrent use.
type Ledger struct {
	cfg   Config
	store Store
	log   *slog.Logger
	now   func() time.Time

	// mu guards closed against Post sending on queue while Close closes it:
	// senders hold it shared.
	mu     sync.RWMutex
	closed bool
	queue  chan *pending
	done   chan struct{} // closed when the committer has drained the queue

	relay     *relay
	closeOnce sync.Once

	batches, txns atomic.Int64
}

// pending is a transaction waiting for the committer.
type pending struct {
	ctx  context.Context
	txn  Txn
	done chan Result // buffered: the committer never waits for the poster
}

// NewLedger starts the committer (and the relay, with a Publisher).
func NewLedger(cfg Config, deps Deps) (*Ledger, error) {
	if deps.Store == nil {
		return nil, errors.New("economy: a ledger needs a store")
	}
	cfg = cfg.withDefaults()
	l := &Ledger{
		cfg: cfg, store: deps.Store, log: deps.Log, now: deps.Now,
		// Room for a few batches (and for a burst even without group
		// commit): posters rarely wait to enqueue.
		queue: make(chan *pending, max(4*cfg.MaxBatch, 64)),
		done:  make(chan struct{}),
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.log = l.log.With("component", "ledger")
	if l.now == nil {
		l.now = time.Now
	}
	if deps.Publisher != nil {
		l.relay = newRelay(cfg, deps.Store, deps.Publisher, l.log, l.now)
	}
	go l.commitLoop()
	return l, nil
}

// Post validates t, queues it for the committer and waits for its batch to
// commit. It returns the receipt, or why t was refused: ErrInvalid,
// ErrInsufficientFunds (an *InsufficientFundsError), ErrKeyReused, or the
// database's error (then nothing of t was written, or the outcome is unknown
// when the commit itself failed: retry with the same key to find out).
//
// If ctx ends before the committer takes t, t is dropped; if it ends while t's
// batch commits, Post returns ctx's error but t may have committed: a retry
// with the same key tells.
func (l *Ledger) Post(ctx context.Context, t Txn) (Receipt, error) {
	if err := t.Validate(); err != nil {
		return Receipt{}, err
	}
	p := &pending{ctx: ctx, txn: t, done: make(chan Result, 1)}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return Receipt{}, ErrClosed
	}
	select {
	case l.queue <- p:
	case <-ctx.Done():
		l.mu.RUnlock()
		return Receipt{}, ctx.Err()
	}
	l.mu.RUnlock()
	select {
	case r := <-p.done:
		return r.Receipt, r.Err
	case <-ctx.Done():
		return Receipt{}, ctx.Err()
	}
}

// commitLoop takes the first waiting transaction, then whatever else is
// already waiting up to MaxBatch, and commits them as one batch: the longer a
// commit takes, the more the next batch carries. It ends once Close has closed
// the queue and everything queued is committed.
func (l *Ledger) commitLoop() {
	defer close(l.done)
	batch := make([]*pending, 0, l.cfg.MaxBatch)
	for {
		p, ok := <-l.queue
		if !ok {
			return
		}
		batch = append(batch[:0], p)
	fill:
		for len(batch) < l.cfg.MaxBatch {
			select {
			case p, ok := <-l.queue:
				if !ok {
					break fill
				}
				batch = append(batch, p)
			default:
				break fill
			}
		}
		l.commit(batch)
		clear(batch) // let the posters' contexts and receipts go
	}
}

// commit applies one batch and hands every member its result.
func (l *Ledger) commit(batch []*pending) {
	live := batch[:0:0]
	txns := make([]Txn, 0, len(batch))
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil {
			p.done <- Result{Err: err} // gave up before its batch: not applied
			continue
		}
		live = append(live, p)
		txns = append(txns, p.txn)
	}
	if len(live) == 0 {
		return
	}
	// The batch serves many callers, so no one caller's context governs it.
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.CommitTimeout)
	results, err := l.store.Apply(ctx, txns, l.now())
	cancel()
	if err == nil && len(results) != len(live) {
		err = fmt.Errorf("store returned %d results for %d transactions", len(results), len(live))
	}
	if err != nil {
		l.log.Error("batch failed", "transactions", len(live), "err", err)
		err = fmt.Errorf("economy: commit: %w", err)
		for _, p := range live {
			p.done <- Result{Err: err}
		}
		return
	}
	l.batches.Add(1)
	l.txns.Add(int64(len(live)))
	events := false
	for i, p := range live {
		p.done <- results[i]
		if results[i].Err == nil && !results[i].Receipt.Replayed && p.txn.Event != nil {
			events = true
		}
	}
	if events && l.relay != nil {
		l.relay.wake()
	}
}

// Stats counts the batches committed and the transactions they carried
// (refused and replayed members included).
type Stats struct{ Batches, Txns int64 }

// Stats is a snapshot of the committer's counters.
func (l *Ledger) Stats() Stats { return Stats{Batches: l.batches.Load(), Txns: l.txns.Load()} }

// Close stops taking transactions, commits those already queued, publishes
// what the relay can within CommitTimeout, and stops both goroutines. Posts
// after Close fail with ErrClosed. It is safe to call more than once.
func (l *Ledger) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		close(l.queue)
		l.mu.Unlock()
		<-l.done
		if l.relay != nil {
			l.relay.close()
		}
	})
	return nil
}

// Balances returns the balance of each account of ids; one never used is at 0.
func (l *Ledger) Balances(ctx context.Context, ids ...AccountID) (map[AccountID]int64, error) {
	for _, id := range ids {
		if _, err := ParseAccount(id); err != nil {
			return nil, err
		}
	}
	accts, err := l.store.Accounts(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("economy: balances: %w", err)
	}
	out := make(map[AccountID]int64, len(ids))
	for _, id := range ids {
		out[id] = accts[id].Balance
	}
	return out, nil
}

// Balance is the balance of one account (0 if never used).
func (l *Ledger) Balance(ctx context.Context, id AccountID) (int64, error) {
	b, err := l.Balances(ctx, id)
	return b[id], err
}

// Account returns the stored account, or ErrNotFound if no transaction has
// named it yet.
func (l *Ledger) Account(ctx context.Context, id AccountID) (Account, error) {
	if _, err := ParseAccount(id); err != nil {
		return Account{}, err
	}
	accts, err := l.store.Accounts(ctx, []AccountID{id})
	if err != nil {
		return Account{}, fmt.Errorf("economy: account %s: %w", id, err)
	}
	a, ok := accts[id]
	if !ok {
		return Account{}, fmt.Errorf("economy: account %s: %w", id, ErrNotFound)
	}
	return a, nil
}

// MaxPage is the most entries one History page returns.
const MaxPage = 200

// Page is one page of an account's history, newest first. Next, if not
// empty, is the cursor of the following (older) page.
type Page struct {
	Entries []Entry
	Next    string
}

// History returns up to limit (1 to MaxPage) entries of the account, newest
// first, from cursor ("" for the newest; else a Page's Next).
func (l *Ledger) History(ctx context.Context, id AccountID, cursor string, limit int) (Page, error) {
	if _, err := ParseAccount(id); err != nil {
		return Page{}, err
	}
	if limit < 1 || limit > MaxPage {
		return Page{}, invalidf("page size %d: 1 to %d", limit, MaxPage)
	}
	before, err := parseCursor(cursor)
	if err != nil {
		return Page{}, err
	}
	// One more than asked tells whether there is a next page.
	es, err := l.store.Entries(ctx, id, before, limit+1)
	if err != nil {
		return Page{}, fmt.Errorf("economy: history of %s: %w", id, err)
	}
	var p Page
	if len(es) > limit {
		es = es[:limit]
		p.Next = formatCursor(es[limit-1].Ref())
	}
	p.Entries = es
	return p, nil
}

// A cursor is <txn id>.<seq>: opaque to clients, but plain to read in logs.
func formatCursor(r EntryRef) string { return r.TxnID + "." + strconv.Itoa(r.Seq) }

func parseCursor(s string) (EntryRef, error) {
	if s == "" {
		return EntryRef{}, nil
	}
	id, seq, ok := strings.Cut(s, ".")
	n, err := strconv.Atoi(seq)
	if !ok || err != nil || n < 0 || n >= MaxPostings || !validKey(id) {
		return EntryRef{}, invalidf("cursor %q", s)
	}
	return EntryRef{TxnID: id, Seq: n}, nil
}

// Verify checks every invariant of the package doc on the stored ledger and
// reports each violation; an error means it could not check.
func (l *Ledger) Verify(ctx context.Context) (Report, error) {
	r, err := l.store.Verify(ctx, l.now().Add(-l.cfg.OutboxGrace))
	if err != nil {
		return Report{}, fmt.Errorf("economy: verify: %w", err)
	}
	return r, nil
}
