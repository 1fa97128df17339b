package signaling

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/board"
	"github.com/onair-live/onair/economy/gift"
	"github.com/onair-live/onair/economy/settings"
	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/store"
)

// Economy is the money plane as the edge needs it: the gift catalog and
// sending, wallets, the terms, leaderboards.
type Economy interface {
	Gifts(ctx context.Context, all bool) ([]store.Gift, error)
	PutGift(ctx context.Context, g store.Gift) error
	// SendGift sends count of a gift to the room's streamer; key makes a
	// retry safe.
	SendGift(ctx context.Context, roomID string, from room.Sender, giftID string, count int, key string) (gift.Result, error)
	Balances(ctx context.Context, userID string) (coins, earnings int64, err error)
	History(ctx context.Context, userID string, cur economy.Currency, cursor string, limit int) (economy.Page, error)
	Terms(ctx context.Context) (settings.Settings, error)
	PutTerms(ctx context.Context, t settings.Settings) error
	SetCommission(ctx context.Context, userID string, percent int) error
	// Grant gives a user coins from the platform (a promotion, a
	// compensation); key makes a retry safe.
	Grant(ctx context.Context, userID string, coins int64, reason, key string) (balance int64, err error)
	Top(ctx context.Context, b board.Board, n int) ([]board.Entry, error)
	// LiveBroadcast is the room's broadcast while it is live, else "".
	LiveBroadcast(ctx context.Context, roomID string) (string, error)
}

func (s *Server) economyRoutes(api *echo.Group) {
	api.GET("/gifts", s.listGifts)
	api.POST("/rooms/:room/gifts", s.sendGift, require(store.RoleViewer))
	api.GET("/rooms/:room/leaderboard", s.roomLeaderboard)
	api.GET("/leaderboards/streamers", s.streamerLeaderboard)
	api.GET("/wallet", s.wallet, require(store.RoleViewer))
	api.GET("/wallet/history", s.walletHistory, require(store.RoleViewer))
	admin := api.Group("/admin", require(store.RoleAdmin))
	admin.GET("/gifts", s.adminGifts)
	admin.PUT("/gifts/:id", s.putGift)
	admin.GET("/economy", s.getTerms)
	admin.PUT("/economy", s.putTerms)
	admin.PUT("/users/:name/commission", s.putCommission)
	admin.POST("/users/:name/coins", s.grantCoins)
}

type giftJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Price     int64  `json:"price"` // coins
	Icon      string `json:"icon"`
	Effect    string `json:"effect"` // banner or fullscreen
	Enabled   bool   `json:"enabled"`
	SortOrder int    `json:"sort_order"`
}

func giftsJSON(gs []store.Gift) []giftJSON {
	out := make([]giftJSON, 0, len(gs))
	for _, g := range gs {
		out = append(out, giftJSON{ID: g.ID, Name: g.Name, Price: g.PriceCoins, Icon: g.Icon, Effect: g.Effect, Enabled: g.Enabled, SortOrder: g.SortOrder})
	}
	return out
}

func (s *Server) listGifts(c echo.Context) error {
	gs, err := s.economy.Gifts(c.Request().Context(), false)
	if err != nil {
		return writeProblem(c, err)
	}
	c.Response().Header().Set("Cache-Control", "max-age=30")
	return c.JSON(http.StatusOK, map[string]any{"gifts": giftsJSON(gs)})
}

func (s *Server) adminGifts(c echo.Context) error {
	gs, err := s.economy.Gifts(c.Request().Context(), true)
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"gifts": giftsJSON(gs)})
}

func (s *Server) putGift(c echo.Context) error {
	var in giftJSON
	if err := bindJSON(c, &in); err != nil {
		return writeProblem(c, err)
	}
	g := store.Gift{ID: c.Param("id"), Name: in.Name, PriceCoins: in.Price, Icon: in.Icon, Effect: in.Effect, Enabled: in.Enabled, SortOrder: in.SortOrder}
	if err := s.economy.PutGift(c.Request().Context(), g); err != nil {
		return writeProblem(c, err)
	}
	s.audit(c, "gift_put", "", g.ID, fmt.Sprintf("%s, %d coins, %s, enabled=%v", g.Name, g.PriceCoins, g.Effect, g.Enabled))
	return c.JSON(http.StatusOK, giftsJSON([]store.Gift{g})[0])
}

func (s *Server) sendGift(c echo.Context) error {
	id, err := room.ParseID(c.Param("room"))
	if err != nil {
		return writeProblem(c, err)
	}
	var in struct {
		Gift  string `json:"gift"`
		Count int    `json:"count"`
		Key   string `json:"idempotency_key"`
	}
	if err := bindJSON(c, &in); err != nil {
		return writeProblem(c, err)
	}
	me := current(c).user
	res, err := s.economy.SendGift(c.Request().Context(), string(id), room.Sender{ID: me.ID, Name: me.Name}, in.Gift, in.Count, in.Key)
	if err != nil {
		return writeProblem(c, err)
	}
	status := http.StatusCreated
	if res.Replayed {
		status = http.StatusOK
	}
	return c.JSON(status, map[string]any{"txn_id": res.TxnID, "coins": res.Coins, "balance": res.Balance, "combo": res.Combo, "replayed": res.Replayed})
}

func (s *Server) wallet(c echo.Context) error {
	coins, earnings, err := s.economy.Balances(c.Request().Context(), current(c).user.ID)
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, map[string]int64{"coins": coins, "earnings": earnings})
}

type entryJSON struct {
	TxnID    string            `json:"txn_id"`
	At       time.Time         `json:"at"`
	Kind     string            `json:"kind"`
	Amount   int64             `json:"amount"`
	Balance  int64             `json:"balance"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

func (s *Server) walletHistory(c echo.Context) error {
	cur := economy.Currency(c.QueryParam("currency"))
	if cur == "" {
		cur = economy.Coins
	}
	if cur != economy.Coins && cur != economy.Earnings {
		return writeProblem(c, fmt.Errorf("%w: currency is coins or earnings", ErrBadRequest))
	}
	limit := 50
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > economy.MaxPage {
			return writeProblem(c, fmt.Errorf("%w: limit is 1 to %d", ErrBadRequest, economy.MaxPage))
		}
		limit = n
	}
	page, err := s.economy.History(c.Request().Context(), current(c).user.ID, cur, c.QueryParam("cursor"), limit)
	if err != nil {
		return writeProblem(c, err)
	}
	out := make([]entryJSON, 0, len(page.Entries))
	for _, e := range page.Entries {
		out = append(out, entryJSON{TxnID: e.TxnID, At: e.At, Kind: e.Kind, Amount: e.Amount, Balance: e.BalanceAfter, Metadata: e.Metadata})
	}
	return c.JSON(http.StatusOK, map[string]any{"currency": cur, "entries": out, "next": page.Next})
}

func (s *Server) getTerms(c echo.Context) error {
	t, err := s.economy.Terms(c.Request().Context())
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, t)
}

func (s *Server) putTerms(c echo.Context) error {
	var t settings.Settings
	if err := bindJSON(c, &t); err != nil {
		return writeProblem(c, err)
	}
	if err := s.economy.PutTerms(c.Request().Context(), t); err != nil {
		return writeProblem(c, err)
	}
	s.audit(c, "economy_terms", "", "", fmt.Sprintf("commission %d%%, %d coins per yuan", t.CommissionPercent, t.CoinsPerYuan))
	return c.JSON(http.StatusOK, t)
}

func (s *Server) putCommission(c echo.Context) error {
	var in struct {
		Percent *int `json:"percent"` // null: the platform's
	}
	if err := bindJSON(c, &in); err != nil {
		return writeProblem(c, err)
	}
	u, err := s.records.UserByName(c.Request().Context(), c.Param("name"))
	if err != nil {
		return writeProblem(c, err)
	}
	p, reason := -1, "the platform's"
	if in.Percent != nil {
		if *in.Percent < 0 || *in.Percent > 100 {
			return writeProblem(c, fmt.Errorf("%w: percent is 0 to 100, or null for the platform's", ErrBadRequest))
		}
		p, reason = *in.Percent, fmt.Sprintf("%d%%", *in.Percent)
	}
	if err := s.economy.SetCommission(c.Request().Context(), u.ID, p); err != nil {
		return writeProblem(c, err)
	}
	s.audit(c, "commission", "", u.ID, reason)
	return c.NoContent(http.StatusNoContent)
}

type rankJSON struct {
	Rank  int        `json:"rank"`
	User  personJSON `json:"user"`
	Score int64      `json:"score"`
}

// ranks names the entries of a board.
func (s *Server) ranks(c echo.Context, b board.Board) error {
	n := 10
	if v := c.QueryParam("limit"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 100 {
			return writeProblem(c, fmt.Errorf("%w: limit is 1 to 100", ErrBadRequest))
		}
	}
	ctx := c.Request().Context()
	top, err := s.economy.Top(ctx, b, n)
	if err != nil {
		return writeProblem(c, err)
	}
	ids := make([]string, 0, len(top))
	for _, e := range top {
		ids = append(ids, e.ID)
	}
	users, err := s.records.UsersByID(ctx, ids)
	if err != nil {
		return writeProblem(c, err)
	}
	out := make([]rankJSON, 0, len(top))
	for _, e := range top {
		u, ok := users[e.ID]
		if !ok {
			continue // an account that was deleted
		}
		out = append(out, rankJSON{Rank: e.Rank, User: person(u), Score: e.Score})
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": out})
}

// roomLeaderboard: the room's contributors this broadcast, today, this week
// or ever (?period=broadcast|day|week|all).
func (s *Server) roomLeaderboard(c echo.Context) error {
	id, err := room.ParseID(c.Param("room"))
	if err != nil {
		return writeProblem(c, err)
	}
	b := board.Board{Room: string(id)}
	switch c.QueryParam("period") {
	case "", "broadcast":
		b.Kind = board.RoomBroadcast
		if b.Broadcast, err = s.economy.LiveBroadcast(c.Request().Context(), string(id)); err != nil {
			return writeProblem(c, err)
		}
		if b.Broadcast == "" {
			return c.JSON(http.StatusOK, map[string]any{"entries": []rankJSON{}, "live": false})
		}
	case "day":
		b.Kind = board.RoomDay
	case "week":
		b.Kind = board.RoomWeek
	case "all":
		b.Kind = board.RoomAllTime
	default:
		return writeProblem(c, fmt.Errorf("%w: period is broadcast, day, week or all", ErrBadRequest))
	}
	return s.ranks(c, b)
}

// streamerLeaderboard: streamers by earnings today, this week or ever.
func (s *Server) streamerLeaderboard(c echo.Context) error {
	var b board.Board
	switch c.QueryParam("period") {
	case "", "day":
		b.Kind = board.StreamersDay
	case "week":
		b.Kind = board.StreamersWeek
	case "all":
		b.Kind = board.StreamersAllTime
	default:
		return writeProblem(c, fmt.Errorf("%w: period is day, week or all", ErrBadRequest))
	}
	return s.ranks(c, b)
}

// grantCoins: an admin gives a user coins, audited with the reason.
func (s *Server) grantCoins(c echo.Context) error {
	var in struct {
		Coins  int64  `json:"coins"`
		Reason string `json:"reason"`
		Key    string `json:"idempotency_key"`
	}
	if err := bindJSON(c, &in); err != nil {
		return writeProblem(c, err)
	}
	if in.Coins < 1 || in.Coins > 10_000_000 || in.Reason == "" || len(in.Reason) > 200 || in.Key == "" || len(in.Key) > 64 {
		return writeProblem(c, fmt.Errorf("%w: give coins (1 to 10,000,000), a reason (1 to 200 characters) and an idempotency_key", ErrBadRequest))
	}
	u, err := s.records.UserByName(c.Request().Context(), c.Param("name"))
	if err != nil {
		return writeProblem(c, err)
	}
	bal, err := s.economy.Grant(c.Request().Context(), u.ID, in.Coins, in.Reason, in.Key)
	if err != nil {
		return writeProblem(c, err)
	}
	s.audit(c, "grant_coins", "", u.ID, fmt.Sprintf("%d coins: %s", in.Coins, in.Reason))
	return c.JSON(http.StatusOK, map[string]int64{"coins": bal})
}
