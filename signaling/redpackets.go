package signaling

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/onair-live/onair/economy/redpacket"
	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/store"
)

// RedPackets drops and grabs red packets; *redpacket.Service satisfies it.
type RedPackets interface {
	Create(ctx context.Context, r redpacket.CreateRequest) (redpacket.Created, error)
	Grab(ctx context.Context, packetID string, user redpacket.Party) (redpacket.Grabbed, error)
	Open(ctx context.Context, room, viewerID string) ([]redpacket.Listed, error)
	RoomOf(ctx context.Context, packetID string) (string, error)
}

// redPacketRoutes serves red packets when rp is set: dropping one in a room
// and grabbing a share need a login; a room's open packets are public.
func (s *Server) redPacketRoutes(api *echo.Group, rp RedPackets) {
	if rp == nil || s.records == nil {
		return
	}
	h := redPacketAPI{s: s, rp: rp}
	api.POST("/rooms/:room/redpackets", h.create, require(store.RoleViewer))
	api.GET("/rooms/:room/redpackets", h.list)
	api.POST("/redpackets/:id/grab", h.grab, require(store.RoleViewer))
}

type redPacketAPI struct {
	s  *Server
	rp RedPackets
}

type redPacketJSON struct {
	ID        string          `json:"id"`
	Room      string          `json:"room"`
	From      redpacket.Party `json:"from"`
	Coins     int64           `json:"coins"`
	Shares    int             `json:"shares"`
	Left      int             `json:"left"`
	Status    string          `json:"status"`
	CreatedAt time.Time       `json:"created_at"`
	ExpiresAt time.Time       `json:"expires_at"`
	Mine      *grabJSON       `json:"mine,omitempty"` // the caller's share
}

type grabJSON struct {
	ID      string          `json:"id"` // the packet's
	User    redpacket.Party `json:"user"`
	Share   int             `json:"share"`
	Coins   int64           `json:"coins"`
	Left    int             `json:"left"`
	Balance *int64          `json:"balance,omitempty"` // the grabber's coins after it
}

func toRedPacket(p redpacket.Packet) redPacketJSON {
	return redPacketJSON{ID: p.ID, Room: p.Room, From: p.Sender, Coins: p.Coins, Shares: p.Shares, Left: p.Left(),
		Status: string(p.Status), CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt}
}

func toGrab(g redpacket.Grab) *grabJSON {
	return &grabJSON{ID: g.Packet, User: g.User, Share: g.Share, Coins: g.Coins, Left: g.Left}
}

// create drops a packet: {coins, shares, idempotency_key} → 201 with the
// packet (200 for a retry of one created before).
func (h redPacketAPI) create(c echo.Context) error {
	id, err := room.ParseID(c.Param("room"))
	if err != nil {
		return writeProblem(c, err)
	}
	var in struct {
		Coins  int64  `json:"coins"`
		Shares int    `json:"shares"`
		Key    string `json:"idempotency_key"`
	}
	if err := bindJSON(c, &in); err != nil {
		return writeProblem(c, err)
	}
	ctx := c.Request().Context()
	if _, err := h.s.records.RoomByID(ctx, string(id)); err != nil {
		return writeProblem(c, err)
	}
	me := current(c).user
	if err := h.s.bannedFrom(ctx, id, me.ID); err != nil {
		return writeProblem(c, err)
	}
	res, err := h.rp.Create(ctx, redpacket.CreateRequest{Room: string(id), From: redpacket.Party{ID: me.ID, Name: me.Name},
		Coins: in.Coins, Shares: in.Shares, Key: in.Key})
	if err != nil {
		return writeProblem(c, err)
	}
	status := http.StatusCreated
	if res.Replayed {
		status = http.StatusOK
	}
	return c.JSON(status, map[string]any{"red_packet": toRedPacket(res.Packet), "txn_id": res.TxnID, "balance": res.Balance, "replayed": res.Replayed})
}

// grab takes the caller's share: 200 with what they won, or a problem saying
// why not (banned from the packet's room 403, empty 409, already grabbed
// 409, expired 410).
func (h redPacketAPI) grab(c echo.Context) error {
	me := current(c).user
	ctx := c.Request().Context()
	roomID, err := h.rp.RoomOf(ctx, c.Param("id"))
	if err != nil {
		return writeProblem(c, err)
	}
	if err := h.s.bannedFrom(ctx, room.ID(roomID), me.ID); err != nil {
		return writeProblem(c, err)
	}
	g, err := h.rp.Grab(ctx, c.Param("id"), redpacket.Party{ID: me.ID, Name: me.Name})
	if err != nil {
		return writeProblem(c, err)
	}
	out := toGrab(g.Grab)
	out.Balance = &g.Balance
	return c.JSON(http.StatusOK, out)
}

// list returns the room's packets that can be grabbed now, with the caller's
// share of each when logged in.
func (h redPacketAPI) list(c echo.Context) error {
	id, err := room.ParseID(c.Param("room"))
	if err != nil {
		return writeProblem(c, err)
	}
	viewer := ""
	if p := current(c); p != nil {
		viewer = p.user.ID
	}
	ls, err := h.rp.Open(c.Request().Context(), string(id), viewer)
	if err != nil {
		return writeProblem(c, err)
	}
	out := make([]redPacketJSON, len(ls))
	for i, l := range ls {
		out[i] = toRedPacket(l.Packet)
		if l.Mine != nil {
			out[i].Mine = toGrab(*l.Mine)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"red_packets": out})
}
