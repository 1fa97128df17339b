package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The rows of red packets (migration 0010). The money moves in the ledger;
// these rows say which move is due next, so economy/redpacket can finish every
// step after a crash. Status changes are compare-and-set: each names the state
// it leaves, so two nodes finishing the same packet cannot both apply one.

// Red packet states (see the migration).
const (
	RedPacketPending  = "pending"
	RedPacketOpen     = "open"
	RedPacketEnded    = "ended"
	RedPacketDone     = "done"
	RedPacketCanceled = "canceled"
)

// Refusals of GrabRedPacket.
var (
	// ErrRedPacketEmpty: every share is claimed.
	ErrRedPacketEmpty = errors.New("red packet empty")
	// ErrRedPacketExpired: the packet is past its expiry with shares left.
	ErrRedPacketExpired = errors.New("red packet expired")
	// ErrAlreadyGrabbed: the user has a share of this packet already.
	ErrAlreadyGrabbed = errors.New("red packet already grabbed")
)

// MaxRedPacketShares bounds the split of one packet.
const MaxRedPacketShares = 10_000

// RedPacket is a packet as stored.
type RedPacket struct {
	ID         string
	CreateKey  string // the ledger key of its create transaction
	RoomID     string
	SenderID   string
	SenderName string
	Coins      int64
	Shares     int
	// Split is the coins of each share, by index; RedPacket and
	// CreateRedPacket fill it, the lists leave it nil.
	Split     []int64
	Claimed   int // shares claimed so far: the next grab takes share Claimed
	Status    string
	CreatedAt time.Time
	ExpiresAt time.Time
	AttemptAt time.Time // when a post of the create transaction last started
	CreateTxn string    // set once the create committed
	EndedAt   time.Time // zero until ended
	Refunded  int64
	RefundTxn string // set once done with a refund
}

// RedPacketGrab is a claimed share.
type RedPacketGrab struct {
	PacketID string
	RoomID   string
	Share    int   // its index
	Coins    int64 // the share's coins
	Left     int   // shares after it: Shares - Share - 1
	UserID   string
	UserName string
	At       time.Time
	PaidTxn  string // set once paid
}

const redPacketCols = `id, create_key, room_id, sender_id, sender_name, coins, shares, claimed, status,
	created_at, expires_at, attempt_at, create_txn, ended_at, refunded, refund_txn`

const redPacketGrabSelect = `SELECT g.packet_id, p.room_id, g.share_idx, s.coins, p.shares, g.user_id, g.user_name, g.grabbed_at, g.paid_txn
	FROM red_packet_grabs g
	JOIN red_packets p ON p.id = g.packet_id
	JOIN red_packet_shares s ON s.packet_id = g.packet_id AND s.idx = g.share_idx`

func validRedPacket(p RedPacket) error {
	switch {
	case p.CreateKey == "" || p.RoomID == "" || p.SenderID == "":
		return fmt.Errorf("%w: a red packet needs a create key, a room and a sender", ErrInvalid)
	case p.Coins <= 0 || p.Shares <= 0 || p.Shares > MaxRedPacketShares || int64(p.Shares) > p.Coins:
		return fmt.Errorf("%w: %d coins in %d shares", ErrInvalid, p.Coins, p.Shares)
	case len(p.Split) != p.Shares:
		return fmt.Errorf("%w: a split of %d for %d shares", ErrInvalid, len(p.Split), p.Shares)
	case !p.ExpiresAt.After(p.CreatedAt):
		return fmt.Errorf("%w: a red packet expires after it is created", ErrInvalid)
	}
	var sum int64
	for i, c := range p.Split {
		if c <= 0 || c > p.Coins {
			return fmt.Errorf("%w: share %d of %d coins", ErrInvalid, i, c)
		}
		sum += c
	}
	if sum != p.Coins {
		return fmt.Errorf("%w: shares sum to %d, not %d", ErrInvalid, sum, p.Coins)
	}
	return nil
}

// CreateRedPacket keeps p (ID, Status, Claimed and AttemptAt are set here) as
// pending with its split, and returns it with created true. If a packet with
// p's CreateKey exists, it returns that one, unchanged, with created false.
func (db *DB) CreateRedPacket(ctx context.Context, p RedPacket) (_ RedPacket, created bool, err error) {
	if err := validRedPacket(p); err != nil {
		return RedPacket{}, false, fmt.Errorf("store: create red packet: %w", err)
	}
	p.CreatedAt, p.ExpiresAt = fromMS(ms(p.CreatedAt)), fromMS(ms(p.ExpiresAt))
	if p.ID, err = newID(p.CreatedAt); err != nil {
		return RedPacket{}, false, fmt.Errorf("store: create red packet: %w", err)
	}
	p.Status, p.Claimed, p.AttemptAt = RedPacketPending, 0, p.CreatedAt
	p.CreateTxn, p.RefundTxn, p.EndedAt, p.Refunded = "", "", time.Time{}, 0
	var existing string
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		err := db.queryRow(ctx, tx, "SELECT id FROM red_packets WHERE create_key = ?", p.CreateKey).Scan(&existing)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := db.exec(ctx, tx, `INSERT INTO red_packets (id, create_key, room_id, sender_id, sender_name, coins, shares, status, created_at, expires_at, attempt_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.ID, p.CreateKey, p.RoomID, p.SenderID, p.SenderName, p.Coins, p.Shares,
			p.Status, ms(p.CreatedAt), ms(p.ExpiresAt), ms(p.AttemptAt)); err != nil {
			return err
		}
		// Rows of 3 parameters, well under both engines' limits per statement.
		for lo := 0; lo < len(p.Split); lo += 1000 {
			hi := min(lo+1000, len(p.Split))
			args := make([]any, 0, 3*(hi-lo))
			for i := lo; i < hi; i++ {
				args = append(args, p.ID, i, p.Split[i])
			}
			q := "INSERT INTO red_packet_shares (packet_id, idx, coins) VALUES (?, ?, ?)" + strings.Repeat(", (?, ?, ?)", hi-lo-1)
			if _, err := db.exec(ctx, tx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if db.d.violation(err) == uniqueViolation {
		// Another node inserted the same key first: that one is the packet.
		err = db.queryRow(ctx, db.r, "SELECT id FROM red_packets WHERE create_key = ?", p.CreateKey).Scan(&existing)
	}
	if err != nil {
		return RedPacket{}, false, fmt.Errorf("store: create red packet: %w", err)
	}
	if existing != "" {
		got, err := db.RedPacket(ctx, existing)
		return got, false, err
	}
	return p, true, nil
}

// RedPacket returns the packet with its split, or ErrNotFound.
func (db *DB) RedPacket(ctx context.Context, id string) (RedPacket, error) {
	return db.redPacketWhere(ctx, "id", id)
}

// RedPacketByKey returns the packet whose create has the ledger key key, with
// its split, or ErrNotFound.
func (db *DB) RedPacketByKey(ctx context.Context, key string) (RedPacket, error) {
	return db.redPacketWhere(ctx, "create_key", key)
}

// redPacketWhere reads the packet whose column col (a unique one) is v.
func (db *DB) redPacketWhere(ctx context.Context, col, v string) (RedPacket, error) {
	p, err := scanRedPacket(db.queryRow(ctx, db.r, "SELECT "+redPacketCols+" FROM red_packets WHERE "+col+" = ?", v))
	if errors.Is(err, sql.ErrNoRows) {
		return RedPacket{}, fmt.Errorf("store: red packet %q: %w", v, ErrNotFound)
	}
	if err != nil {
		return RedPacket{}, fmt.Errorf("store: red packet %q: %w", v, err)
	}
	id := p.ID
	rows, err := db.query(ctx, db.r, "SELECT coins FROM red_packet_shares WHERE packet_id = ? ORDER BY idx", id)
	if err != nil {
		return RedPacket{}, fmt.Errorf("store: red packet %q: %w", id, err)
	}
	defer rows.Close()
	p.Split = make([]int64, 0, p.Shares)
	for rows.Next() {
		var c int64
		if err := rows.Scan(&c); err != nil {
			return RedPacket{}, fmt.Errorf("store: red packet %q: %w", id, err)
		}
		p.Split = append(p.Split, c)
	}
	if err := rows.Err(); err != nil {
		return RedPacket{}, fmt.Errorf("store: red packet %q: %w", id, err)
	}
	return p, nil
}

// StartRedPacketAttempt records that a post of a pending or canceled packet's
// create transaction starts at at: the packet is pending again, with
// AttemptAt at. A canceled packet, which nobody saw, starts its life again:
// created at at, expiring as long after. started is false, and the packet
// unchanged, when its create is committed already (open, ended or done).
func (db *DB) StartRedPacketAttempt(ctx context.Context, id string, at time.Time) (RedPacket, bool, error) {
	res, err := db.exec(ctx, db.w, `UPDATE red_packets SET status = ?, attempt_at = ?,
			created_at = CASE WHEN status = ? THEN ? ELSE created_at END,
			expires_at = CASE WHEN status = ? THEN ? + (expires_at - created_at) ELSE expires_at END
		WHERE id = ? AND status IN (?, ?)`,
		RedPacketPending, ms(at), RedPacketCanceled, ms(at), RedPacketCanceled, ms(at), id, RedPacketPending, RedPacketCanceled)
	if err != nil {
		return RedPacket{}, false, fmt.Errorf("store: red packet %q: attempt: %w", id, err)
	}
	started := affected(res) == nil
	p, err := db.RedPacket(ctx, id)
	return p, started, err
}

// OpenRedPacket records that the packet's create committed as txn: a pending
// (or canceled) packet opens. A packet opened already is left as it is.
func (db *DB) OpenRedPacket(ctx context.Context, id, txn string) error {
	res, err := db.exec(ctx, db.w, "UPDATE red_packets SET status = ?, create_txn = ? WHERE id = ? AND status IN (?, ?)",
		RedPacketOpen, txn, id, RedPacketPending, RedPacketCanceled)
	if err == nil {
		if err = affected(res); errors.Is(err, ErrNotFound) {
			_, err = db.RedPacket(ctx, id) // opened before, or never there
		}
	}
	if err != nil {
		return fmt.Errorf("store: open red packet %q: %w", id, err)
	}
	return nil
}

// CancelRedPacket records that the ledger refused the packet's create in the
// attempt that started at attemptAt. It changes nothing (and says so) when
// the packet is not pending or another attempt started since.
func (db *DB) CancelRedPacket(ctx context.Context, id string, attemptAt time.Time) (bool, error) {
	res, err := db.exec(ctx, db.w, "UPDATE red_packets SET status = ? WHERE id = ? AND status = ? AND attempt_at = ?",
		RedPacketCanceled, id, RedPacketPending, ms(attemptAt))
	if err != nil {
		return false, fmt.Errorf("store: cancel red packet %q: %w", id, err)
	}
	return affected(res) == nil, nil
}

// OpenRedPackets returns the room's packets that can be grabbed at at, oldest
// first (limit 0 means 50, at most 500), without their split.
func (db *DB) OpenRedPackets(ctx context.Context, roomID string, at time.Time, limit int) ([]RedPacket, error) {
	return db.redPackets(ctx, "SELECT "+redPacketCols+" FROM red_packets WHERE room_id = ? AND status = ? AND expires_at > ? AND claimed < shares ORDER BY id LIMIT ?",
		roomID, RedPacketOpen, ms(at), clampLimit(limit))
}

// DueRedPackets returns, oldest first and without their split, up to limit
// packets with work left at at: pending ones whose last attempt started
// before staleBefore, open ones past their expiry, and ended ones.
func (db *DB) DueRedPackets(ctx context.Context, at, staleBefore time.Time, limit int) ([]RedPacket, error) {
	sel := "SELECT " + redPacketCols + " FROM red_packets WHERE "
	return db.redPackets(ctx, sel+"status = ? AND attempt_at < ? UNION ALL "+sel+"status = ? AND expires_at <= ? UNION ALL "+sel+"status = ? ORDER BY id LIMIT ?",
		RedPacketPending, ms(staleBefore), RedPacketOpen, ms(at), RedPacketEnded, clampLimit(limit))
}

func (db *DB) redPackets(ctx context.Context, q string, args ...any) ([]RedPacket, error) {
	rows, err := db.query(ctx, db.r, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: red packets: %w", err)
	}
	defer rows.Close()
	var out []RedPacket
	for rows.Next() {
		p, err := scanRedPacket(rows)
		if err != nil {
			return nil, fmt.Errorf("store: red packets: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// GrabRedPacket claims the next share of an open packet for a user, at at,
// in one transaction: the first Shares distinct users get shares 0, 1, ... in
// the order their claims commit. The claim of the last share ends the packet.
// Refusals: ErrNotFound (no such packet, or not open yet), ErrRedPacketEmpty,
// ErrRedPacketExpired, and ErrAlreadyGrabbed with the user's grab.
func (db *DB) GrabRedPacket(ctx context.Context, id, userID, userName string, at time.Time) (RedPacketGrab, error) {
	if userID == "" {
		return RedPacketGrab{}, fmt.Errorf("store: grab red packet: %w: no user", ErrInvalid)
	}
	at = fromMS(ms(at))
	var g RedPacketGrab
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := db.queryRow(ctx, tx, "SELECT 1 FROM red_packet_grabs WHERE packet_id = ? AND user_id = ?", id, userID).Scan(&one)
		if err == nil {
			return ErrAlreadyGrabbed
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// The row lock of this UPDATE orders concurrent claims (PostgreSQL
		// re-checks the WHERE on the row as the previous claim left it);
		// SQLite has one writer.
		var claimed, shares int
		var roomID string
		err = db.queryRow(ctx, tx, `UPDATE red_packets SET claimed = claimed + 1,
				status = CASE WHEN claimed + 1 = shares THEN ? ELSE status END,
				ended_at = CASE WHEN claimed + 1 = shares THEN ? ELSE ended_at END
			WHERE id = ? AND status = ? AND claimed < shares AND expires_at > ?
			RETURNING claimed, shares, room_id`,
			RedPacketEnded, ms(at), id, RedPacketOpen, ms(at)).Scan(&claimed, &shares, &roomID)
		if errors.Is(err, sql.ErrNoRows) {
			return db.whyNotGrabbable(ctx, tx, id, at)
		}
		if err != nil {
			return err
		}
		g = RedPacketGrab{PacketID: id, RoomID: roomID, Share: claimed - 1, Left: shares - claimed, UserID: userID, UserName: userName, At: at}
		if _, err := db.exec(ctx, tx, "INSERT INTO red_packet_grabs (packet_id, share_idx, user_id, user_name, grabbed_at) VALUES (?, ?, ?, ?, ?)",
			id, g.Share, userID, userName, ms(at)); err != nil {
			if db.d.violation(err) == uniqueViolation {
				return ErrAlreadyGrabbed // the same user's claim committed meanwhile
			}
			return err
		}
		return db.queryRow(ctx, tx, "SELECT coins FROM red_packet_shares WHERE packet_id = ? AND idx = ?", id, g.Share).Scan(&g.Coins)
	})
	if errors.Is(err, ErrAlreadyGrabbed) {
		mine, err := db.userRedPacketGrab(ctx, id, userID)
		if err != nil {
			return RedPacketGrab{}, fmt.Errorf("store: grab red packet %q: %w", id, err)
		}
		return mine, fmt.Errorf("store: grab red packet %q: %w", id, ErrAlreadyGrabbed)
	}
	if err != nil {
		return RedPacketGrab{}, fmt.Errorf("store: grab red packet %q: %w", id, err)
	}
	return g, nil
}

// whyNotGrabbable tells why the claim of a share of packet id matched nothing.
func (db *DB) whyNotGrabbable(ctx context.Context, tx *sql.Tx, id string, at time.Time) error {
	var status string
	var claimed, shares int
	err := db.queryRow(ctx, tx, "SELECT status, claimed, shares FROM red_packets WHERE id = ?", id).Scan(&status, &claimed, &shares)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return err
	case status == RedPacketPending || status == RedPacketCanceled:
		return ErrNotFound // its money has not moved: it does not exist for anyone
	case claimed >= shares:
		return ErrRedPacketEmpty
	}
	return ErrRedPacketExpired // ended, done, or open past expires_at
}

func (db *DB) userRedPacketGrab(ctx context.Context, id, userID string) (RedPacketGrab, error) {
	g, err := scanRedPacketGrab(db.queryRow(ctx, db.r, redPacketGrabSelect+" WHERE g.packet_id = ? AND g.user_id = ?", id, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return RedPacketGrab{}, ErrNotFound
	}
	return g, err
}

// RedPacketGrabs returns the packet's claimed shares in share order.
func (db *DB) RedPacketGrabs(ctx context.Context, id string) ([]RedPacketGrab, error) {
	return db.redPacketGrabs(ctx, redPacketGrabSelect+" WHERE g.packet_id = ? ORDER BY g.share_idx", id)
}

// UserRedPacketGrabs returns the user's grabs among the packets ids (at most
// 500), by packet id.
func (db *DB) UserRedPacketGrabs(ctx context.Context, userID string, ids []string) (map[string]RedPacketGrab, error) {
	out := map[string]RedPacketGrab{}
	if len(ids) == 0 {
		return out, nil
	}
	if len(ids) > maxLimit {
		return nil, fmt.Errorf("store: red packet grabs: %w: %d packets at once, at most %d", ErrInvalid, len(ids), maxLimit)
	}
	args := []any{userID}
	for _, id := range ids {
		args = append(args, id)
	}
	gs, err := db.redPacketGrabs(ctx, redPacketGrabSelect+" WHERE g.user_id = ? AND g.packet_id IN (?"+strings.Repeat(", ?", len(ids)-1)+")", args...)
	for _, g := range gs {
		out[g.PacketID] = g
	}
	return out, err
}

// UnpaidRedPacketGrabs returns up to limit claimed shares not yet paid, claimed
// before before, oldest first.
func (db *DB) UnpaidRedPacketGrabs(ctx context.Context, before time.Time, limit int) ([]RedPacketGrab, error) {
	return db.redPacketGrabs(ctx, redPacketGrabSelect+" WHERE g.paid_txn IS NULL AND g.grabbed_at < ? ORDER BY g.grabbed_at LIMIT ?",
		ms(before), clampLimit(limit))
}

func (db *DB) redPacketGrabs(ctx context.Context, q string, args ...any) ([]RedPacketGrab, error) {
	rows, err := db.query(ctx, db.r, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: red packet grabs: %w", err)
	}
	defer rows.Close()
	var out []RedPacketGrab
	for rows.Next() {
		g, err := scanRedPacketGrab(rows)
		if err != nil {
			return nil, fmt.Errorf("store: red packet grabs: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// MarkRedPacketGrabPaid records that txn paid the share. A share paid already
// keeps its first transaction.
func (db *DB) MarkRedPacketGrabPaid(ctx context.Context, id string, share int, txn string) error {
	if txn == "" {
		return fmt.Errorf("store: red packet %q share %d: %w: no transaction", id, share, ErrInvalid)
	}
	res, err := db.exec(ctx, db.w, "UPDATE red_packet_grabs SET paid_txn = ? WHERE packet_id = ? AND share_idx = ? AND paid_txn IS NULL", txn, id, share)
	if err == nil {
		if err = affected(res); errors.Is(err, ErrNotFound) {
			var paid sql.NullString
			err = db.queryRow(ctx, db.r, "SELECT paid_txn FROM red_packet_grabs WHERE packet_id = ? AND share_idx = ?", id, share).Scan(&paid)
			if errors.Is(err, sql.ErrNoRows) {
				err = ErrNotFound
			}
		}
	}
	if err != nil {
		return fmt.Errorf("store: red packet %q share %d paid: %w", id, share, err)
	}
	return nil
}

// EndRedPacket ends an open packet whose expiry is at or before at; no share
// can be claimed after. ended is false when it was not open or not expired.
func (db *DB) EndRedPacket(ctx context.Context, id string, at time.Time) (ended bool, err error) {
	res, err := db.exec(ctx, db.w, "UPDATE red_packets SET status = ?, ended_at = ? WHERE id = ? AND status = ? AND expires_at <= ?",
		RedPacketEnded, ms(at), id, RedPacketOpen, ms(at))
	if err != nil {
		return false, fmt.Errorf("store: end red packet %q: %w", id, err)
	}
	return affected(res) == nil, nil
}

// FinishRedPacket records that an ended packet is settled: every claimed share
// paid, and refunded coins (the unclaimed shares; refundTxn, or "" when
// nothing was left) gone back to the sender. A packet with an unpaid grab, or
// a refund that is not what its unclaimed shares hold, is ErrConflict. A
// packet finished already is left as it is.
func (db *DB) FinishRedPacket(ctx context.Context, id string, refunded int64, refundTxn string) error {
	if (refunded > 0) != (refundTxn != "") || refunded < 0 {
		return fmt.Errorf("store: finish red packet %q: %w: a refund of %d with transaction %q", id, ErrInvalid, refunded, refundTxn)
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var status string
		var unpaid, left int64
		err := db.queryRow(ctx, tx, `SELECT p.status,
				(SELECT COUNT(*) FROM red_packet_grabs g WHERE g.packet_id = p.id AND g.paid_txn IS NULL),
				(SELECT COALESCE(SUM(s.coins), 0) FROM red_packet_shares s WHERE s.packet_id = p.id AND s.idx >= p.claimed)
			FROM red_packets p WHERE p.id = ?`, id).Scan(&status, &unpaid, &left)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return err
		case status == RedPacketDone:
			return nil
		case status != RedPacketEnded:
			return fmt.Errorf("%w: the packet is %s, not ended", ErrConflict, status)
		case unpaid > 0:
			return fmt.Errorf("%w: %d claimed shares are not paid", ErrConflict, unpaid)
		case refunded != left:
			return fmt.Errorf("%w: a refund of %d where %d coins are unclaimed", ErrConflict, refunded, left)
		}
		var txn any // NULL without a refund
		if refundTxn != "" {
			txn = refundTxn
		}
		_, err = db.exec(ctx, tx, "UPDATE red_packets SET status = ?, refunded = ?, refund_txn = ? WHERE id = ? AND status = ?",
			RedPacketDone, refunded, txn, id, RedPacketEnded)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: finish red packet %q: %w", id, err)
	}
	return nil
}

func scanRedPacket(s interface{ Scan(...any) error }) (RedPacket, error) {
	var p RedPacket
	var created, expires, attempt int64
	var ended sql.NullInt64
	var createTxn, refundTxn sql.NullString
	err := s.Scan(&p.ID, &p.CreateKey, &p.RoomID, &p.SenderID, &p.SenderName, &p.Coins, &p.Shares, &p.Claimed, &p.Status,
		&created, &expires, &attempt, &createTxn, &ended, &p.Refunded, &refundTxn)
	if err != nil {
		return RedPacket{}, err
	}
	p.CreatedAt, p.ExpiresAt, p.AttemptAt = fromMS(created), fromMS(expires), fromMS(attempt)
	if ended.Valid {
		p.EndedAt = fromMS(ended.Int64)
	}
	p.CreateTxn, p.RefundTxn = createTxn.String, refundTxn.String
	return p, nil
}

func scanRedPacketGrab(s interface{ Scan(...any) error }) (RedPacketGrab, error) {
	var g RedPacketGrab
	var at int64
	var shares int
	var paid sql.NullString
	if err := s.Scan(&g.PacketID, &g.RoomID, &g.Share, &g.Coins, &shares, &g.UserID, &g.UserName, &at, &paid); err != nil {
		return RedPacketGrab{}, err
	}
	g.Left = shares - g.Share - 1
	g.At, g.PaidTxn = fromMS(at), paid.String
	return g, nil
}
