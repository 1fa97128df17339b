// Package dbstore keeps red packets (redpacket.Store) in onair's system of
// record: the rows of store/redpackets.go (migration 0010) on SQLite or
// PostgreSQL. It translates between the two packages' types and errors.
package dbstore

import (
	"context"
	"errors"
	"time"

	"github.com/onair-live/onair/economy/redpacket"
	"github.com/onair-live/onair/store"
)

// Store is redpacket.Store on a *store.DB.
type Store struct{ db *store.DB }

var _ redpacket.Store = Store{}

// New keeps red packets in db, which must be migrated.
func New(db *store.DB) Store { return Store{db: db} }

func (s Store) Create(ctx context.Context, p redpacket.Packet) (redpacket.Packet, bool, error) {
	got, created, err := s.db.CreateRedPacket(ctx, store.RedPacket{
		CreateKey: p.CreateKey, RoomID: p.Room, SenderID: p.Sender.ID, SenderName: p.Sender.Name,
		Coins: p.Coins, Shares: p.Shares, Split: p.Split, CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt,
	})
	return packet(got), created, mapErr(err)
}

func (s Store) Packet(ctx context.Context, id string) (redpacket.Packet, error) {
	p, err := s.db.RedPacket(ctx, id)
	return packet(p), mapErr(err)
}

func (s Store) ByKey(ctx context.Context, key string) (redpacket.Packet, error) {
	p, err := s.db.RedPacketByKey(ctx, key)
	return packet(p), mapErr(err)
}

func (s Store) StartAttempt(ctx context.Context, id string, at time.Time) (redpacket.Packet, bool, error) {
	p, started, err := s.db.StartRedPacketAttempt(ctx, id, at)
	return packet(p), started, mapErr(err)
}

func (s Store) Open(ctx context.Context, id, txn string) error {
	return mapErr(s.db.OpenRedPacket(ctx, id, txn))
}

func (s Store) Cancel(ctx context.Context, id string, attemptAt time.Time) (bool, error) {
	ok, err := s.db.CancelRedPacket(ctx, id, attemptAt)
	return ok, mapErr(err)
}

func (s Store) Grab(ctx context.Context, id string, user redpacket.Party, at time.Time) (redpacket.Grab, error) {
	g, err := s.db.GrabRedPacket(ctx, id, user.ID, user.Name, at)
	return grab(g), mapErr(err)
}

func (s Store) Grabs(ctx context.Context, id string) ([]redpacket.Grab, error) {
	gs, err := s.db.RedPacketGrabs(ctx, id)
	return grabs(gs), mapErr(err)
}

func (s Store) GrabsBy(ctx context.Context, userID string, ids []string) (map[string]redpacket.Grab, error) {
	gs, err := s.db.UserRedPacketGrabs(ctx, userID, ids)
	out := make(map[string]redpacket.Grab, len(gs))
	for id, g := range gs {
		out[id] = grab(g)
	}
	return out, mapErr(err)
}

func (s Store) MarkPaid(ctx context.Context, id string, share int, txn string) error {
	return mapErr(s.db.MarkRedPacketGrabPaid(ctx, id, share, txn))
}

func (s Store) End(ctx context.Context, id string, at time.Time) (bool, error) {
	ok, err := s.db.EndRedPacket(ctx, id, at)
	return ok, mapErr(err)
}

func (s Store) Finish(ctx context.Context, id string, refunded int64, txn string) error {
	return mapErr(s.db.FinishRedPacket(ctx, id, refunded, txn))
}

func (s Store) OpenIn(ctx context.Context, room string, at time.Time, limit int) ([]redpacket.Packet, error) {
	ps, err := s.db.OpenRedPackets(ctx, room, at, limit)
	return packets(ps), mapErr(err)
}

func (s Store) Due(ctx context.Context, at, staleBefore time.Time, limit int) ([]redpacket.Packet, error) {
	ps, err := s.db.DueRedPackets(ctx, at, staleBefore, limit)
	return packets(ps), mapErr(err)
}

func (s Store) Unpaid(ctx context.Context, before time.Time, limit int) ([]redpacket.Grab, error) {
	gs, err := s.db.UnpaidRedPacketGrabs(ctx, before, limit)
	return grabs(gs), mapErr(err)
}

// mapErr turns the store's refusals into redpacket's: their text is the
// sentence a person reads, so the store's detail is left out.
func mapErr(err error) error {
	for _, m := range []struct{ from, to error }{
		{store.ErrRedPacketEmpty, redpacket.ErrEmpty},
		{store.ErrRedPacketExpired, redpacket.ErrExpired},
		{store.ErrAlreadyGrabbed, redpacket.ErrAlreadyGrabbed},
		{store.ErrNotFound, redpacket.ErrNotFound},
	} {
		if errors.Is(err, m.from) {
			return m.to
		}
	}
	return err
}

func packet(p store.RedPacket) redpacket.Packet {
	return redpacket.Packet{ID: p.ID, CreateKey: p.CreateKey, Room: p.RoomID, Sender: redpacket.Party{ID: p.SenderID, Name: p.SenderName},
		Coins: p.Coins, Shares: p.Shares, Split: p.Split, Claimed: p.Claimed, Status: redpacket.Status(p.Status),
		CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt, AttemptAt: p.AttemptAt, CreateTxn: p.CreateTxn, EndedAt: p.EndedAt,
		Refunded: p.Refunded, RefundTxn: p.RefundTxn}
}

func packets(ps []store.RedPacket) []redpacket.Packet {
	out := make([]redpacket.Packet, len(ps))
	for i, p := range ps {
		out[i] = packet(p)
	}
	return out
}

func grab(g store.RedPacketGrab) redpacket.Grab {
	return redpacket.Grab{Packet: g.PacketID, Room: g.RoomID, Share: g.Share, Coins: g.Coins, Left: g.Left,
		User: redpacket.Party{ID: g.UserID, Name: g.UserName}, At: g.At, PaidTxn: g.PaidTxn}
}

func grabs(gs []store.RedPacketGrab) []redpacket.Grab {
	out := make([]redpacket.Grab, len(gs))
	for i, g := range gs {
		out[i] = grab(g)
	}
	return out
}
