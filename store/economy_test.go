package store

import (
	"errors"
	"testing"
)

func testEconomyTerms(t *testing.T, db *DB) {
	ctx := t.Context()
	doc, err := db.EconomySettings(ctx)
	if err != nil || doc != nil {
		t.Fatalf("terms before any were saved: %q %v", doc, err)
	}
	mustNil(t, db.PutEconomySettings(ctx, []byte(`{"commission_percent":40}`)))
	mustNil(t, db.PutEconomySettings(ctx, []byte(`{"commission_percent":30}`)))
	if doc, _ = db.EconomySettings(ctx); string(doc) != `{"commission_percent":30}` {
		t.Fatalf("terms %q", doc)
	}

	star := mustUser(t, db, "termstar", RoleStreamer)
	if _, ok, err := db.StreamerCommission(ctx, star.ID); ok || err != nil {
		t.Fatalf("a streamer without own terms: %v %v", ok, err)
	}
	mustNil(t, db.SetStreamerCommission(ctx, star.ID, 20))
	mustNil(t, db.SetStreamerCommission(ctx, star.ID, 25))
	if p, ok, _ := db.StreamerCommission(ctx, star.ID); !ok || p != 25 {
		t.Fatalf("own commission %d %v", p, ok)
	}
	if err := db.SetStreamerCommission(ctx, star.ID, 101); !errors.Is(err, ErrInvalid) {
		t.Fatalf("101%%: %v", err)
	}
	if err := db.SetStreamerCommission(ctx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", 10); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an unknown streamer: %v", err)
	}
	mustNil(t, db.SetStreamerCommission(ctx, star.ID, -1))
	if _, ok, _ := db.StreamerCommission(ctx, star.ID); ok {
		t.Fatal("cleared commission still there")
	}

	gifts, err := db.Gifts(ctx, true)
	mustNil(t, err)
	if len(gifts) != 5 || gifts[0].ID != "heart" || gifts[4].Effect != "fullscreen" {
		t.Fatalf("the starting catalog %+v", gifts)
	}
	mustNil(t, db.PutGift(ctx, Gift{ID: "star", Name: "Star", PriceCoins: 50, Icon: "⭐", Effect: "banner", Enabled: true, SortOrder: 25}))
	mustNil(t, db.PutGift(ctx, Gift{ID: "heart", Name: "Heart", PriceCoins: 1, Effect: "banner", Enabled: false, SortOrder: 10}))
	gifts, _ = db.Gifts(ctx, true)
	if len(gifts) != 5 || gifts[0].ID != "rose" || gifts[1].ID != "star" {
		t.Fatalf("after adding star and switching heart off: %+v", gifts)
	}
	if all, _ := db.Gifts(ctx, false); len(all) != 6 {
		t.Fatalf("the whole catalog has %d", len(all))
	}
	if g, err := db.GiftByID(ctx, "heart"); err != nil || g.Enabled {
		t.Fatalf("a switched-off gift: %+v %v", g, err)
	}
	if _, err := db.GiftByID(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an unknown gift: %v", err)
	}
	for _, bad := range []Gift{
		{ID: "Bad Id", Name: "x", PriceCoins: 1, Effect: "banner"},
		{ID: "free", Name: "Free", PriceCoins: 0, Effect: "banner"},
		{ID: "loud", Name: "Loud", PriceCoins: 1, Effect: "explosion"},
		{ID: "noname", PriceCoins: 1, Effect: "banner"},
	} {
		if err := db.PutGift(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("gift %+v: %v", bad, err)
		}
	}
}
