package redpacket

import (
	"encoding/json"
	"strconv"

	"github.com/onair-live/onair/economy"
)

// Event types, and the kinds of their ledger transactions.
const (
	TypeCreated = "redpacket"      // a packet was dropped
	TypeGrab    = "redpacket_grab" // a share was won
	TypeEnd     = "redpacket_end"  // the unclaimed rest went back to the sender

	kindCreate = "redpacket_create"
	kindGrab   = "redpacket_grab"
	kindRefund = "redpacket_refund"
)

// Event is the payload of a red packet's outbox event: a room envelope
// without an id (the feed sets the transaction id). TS is when the step
// happened, in Unix milliseconds. The end has no From.
type Event struct {
	V    int    `json:"v"`
	Type string `json:"type"`
	Room string `json:"room"`
	From *Party `json:"from,omitempty"`
	TS   int64  `json:"ts"`
	Body any    `json:"body"` // CreatedBody, GrabBody or EndBody
}

// CreatedBody is the body of a `redpacket` event.
type CreatedBody struct {
	ID        string `json:"id"`
	Coins     int64  `json:"coins"`
	Shares    int    `json:"shares"`
	ExpiresAt int64  `json:"expires_at"` // Unix milliseconds
}

// GrabBody is the body of a `redpacket_grab` event.
type GrabBody struct {
	ID    string `json:"id"`
	User  Party  `json:"user"`
	Coins int64  `json:"coins"`
	Left  int    `json:"left"` // shares still to grab
}

// EndBody is the body of a `redpacket_end` event.
type EndBody struct {
	ID       string `json:"id"`
	Refunded int64  `json:"refunded"` // coins back to the sender
	Sender   Party  `json:"sender"`
}

// Subject is where events of type typ for room go.
func Subject(typ, room string) string { return "onair.economy." + typ + "." + room }

var escrow = economy.PlatformAccount(economy.Escrow, economy.Coins)

func createKey(userID, clientKey string) string {
	return "redpacket:create:" + userID + ":" + clientKey
}

// The transactions are built from the stored rows alone, so that a retry (a
// request's, the sweeper's) posts the same parameters under the same key.

func createTxn(p Packet) economy.Txn {
	from := p.Sender
	return economy.Txn{
		Key:  p.CreateKey,
		Kind: kindCreate,
		Postings: []economy.Posting{
			{Account: economy.UserAccount(p.Sender.ID, economy.Coins), Currency: economy.Coins, Amount: -p.Coins},
			{Account: escrow, Currency: economy.Coins, Amount: p.Coins},
		},
		Event: event(TypeCreated, p.Room, &from, p.CreatedAt.UnixMilli(),
			CreatedBody{ID: p.ID, Coins: p.Coins, Shares: p.Shares, ExpiresAt: p.ExpiresAt.UnixMilli()}),
		Metadata: map[string]string{"packet": p.ID, "room": p.Room, "shares": strconv.Itoa(p.Shares)},
	}
}

func grabTxn(g Grab) economy.Txn {
	user := g.User
	return economy.Txn{
		Key:  "redpacket:grab:" + g.Packet + ":" + strconv.Itoa(g.Share),
		Kind: kindGrab,
		Postings: []economy.Posting{
			{Account: escrow, Currency: economy.Coins, Amount: -g.Coins},
			{Account: economy.UserAccount(g.User.ID, economy.Coins), Currency: economy.Coins, Amount: g.Coins},
		},
		Event:    event(TypeGrab, g.Room, &user, g.At.UnixMilli(), GrabBody{ID: g.Packet, User: g.User, Coins: g.Coins, Left: g.Left}),
		Metadata: map[string]string{"packet": g.Packet, "room": g.Room, "share": strconv.Itoa(g.Share)},
	}
}

func refundTxn(p Packet, coins int64) economy.Txn {
	return economy.Txn{
		Key:  "redpacket:refund:" + p.ID,
		Kind: kindRefund,
		Postings: []economy.Posting{
			{Account: escrow, Currency: economy.Coins, Amount: -coins},
			{Account: economy.UserAccount(p.Sender.ID, economy.Coins), Currency: economy.Coins, Amount: coins},
		},
		Event:    event(TypeEnd, p.Room, nil, p.EndedAt.UnixMilli(), EndBody{ID: p.ID, Refunded: coins, Sender: p.Sender}),
		Metadata: map[string]string{"packet": p.ID, "room": p.Room},
	}
}

func event(typ, room string, from *Party, ts int64, body any) *economy.Event {
	b, err := json.Marshal(Event{V: 1, Type: typ, Room: room, From: from, TS: ts, Body: body})
	if err != nil { // structs of strings and numbers always marshal
		panic(err)
	}
	return &economy.Event{Subject: Subject(typ, room), Payload: b}
}
