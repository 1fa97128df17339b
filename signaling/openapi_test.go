package signaling

import (
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/onair-live/onair/economy/payment"
	"github.com/onair-live/onair/sfu"
)

type noMedia struct{ MediaPlane }

type noAccounts struct{ Accounts }

type noRecords struct{ Records }

type noPlatform struct{ Platform }

type noWords struct{ WordList }

type noInteraction struct{ Interaction }

type noModeration struct{ Moderation }

type reportQueue = Reports

type noMessages struct{ Messages }

type noReview struct{ Review }

type noEconomy struct{ Economy }

type noWallet struct{ Wallet }

func (noWallet) Dev() *payment.Dev { return nil }

type noReports struct{ reportQueue }

type noVoice struct{ Voice }

type noEgress struct{ Egress }

type noRedPackets struct{ RedPackets }

type noRecordings struct{ Recordings }

type noSnapshots struct{ SnapshotArchive }

func (noMedia) ICEServers() []sfu.ICEServer { return nil }

// Every /api route is documented in openapi.json with its method, and every
// documented operation is routed.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	s := New(Config{}, Deps{Media: noMedia{}, Accounts: noAccounts{}, Records: noRecords{}, Platform: noPlatform{}, Words: noWords{}, Interaction: noInteraction{}, Moderation: noModeration{}, Reports: noReports{}, Messages: noMessages{}, Review: noReview{}, Economy: noEconomy{}, Wallet: noWallet{}, Voice: noVoice{}, Egress: noEgress{}, RedPackets: noRedPackets{}, Recordings: noRecordings{}, Snapshots: noSnapshots{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	routed := map[string]bool{}
	for _, r := range s.e.Routes() {
		if !strings.HasPrefix(r.Path, "/api/") || r.Path == "/api/openapi.json" || strings.HasSuffix(r.Path, "*") || r.Method == "echo_route_not_found" {
			continue
		}
		p := r.Path
		for _, param := range []string{"room", "name", "id", "provider", "file"} {
			p = strings.ReplaceAll(p, ":"+param, "{"+param+"}")
		}
		routed[r.Method+" "+p] = true
	}
	for op := range routed {
		if !documented[op] {
			t.Errorf("%s is routed but not in openapi.json", op)
		}
	}
	for op := range documented {
		if !routed[op] {
			t.Errorf("%s is in openapi.json but not routed", op)
		}
	}
}
