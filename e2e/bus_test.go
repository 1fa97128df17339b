package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/onair-live/onair/cmd/onair/app"
	"github.com/onair-live/onair/internal/natstest"
	"github.com/onair-live/onair/room"
)

// startNATS runs a real NATS server with JetStream on a free loopback port, as a
// cluster member outside the node would be.
func startNATS(t *testing.T) string { return natstest.Start(t) }

// A node on an outside NATS announces going live, co-hosts and the end of the
// room as `system` envelopes on the room's subject, and keeps them in JetStream.
func TestLifecycleEventsOnNATS(t *testing.T) {
	url := startNATS(t)
	n := startNode(t, func(c *app.Config) { c.NATS = url; c.SFU.RepublishGrace = time.Second })
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	msgs := make(chan *nats.Msg, 16)
	sub, err := nc.ChanSubscribe(room.Subject("events"), msgs)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	// A republish within the grace period is no new co-host: no second join.
	p := publishSynthetic(t, n, "events", "k-events-1", 30, false)
	_ = p.Close()
	p = publishSynthetic(t, n, "events", "k-events-1", 30, false)
	_ = p.Close()
	var got []string
	deadline := time.After(10 * time.Second)
	for len(got) < 4 {
		select {
		case m := <-msgs:
			var env room.Envelope
			if err := json.Unmarshal(m.Data, &env); err != nil {
				t.Fatalf("bad envelope %q: %v", m.Data, err)
			}
			var body room.SystemBody
			_ = json.Unmarshal(env.Body, &body)
			if env.V != 1 || env.Type != "system" || env.Room != "events" || env.ID == "" || env.TS == 0 {
				t.Fatalf("envelope %+v", env)
			}
			got = append(got, body.Event)
		case <-deadline:
			t.Fatalf("events so far %v", got)
		}
	}
	if want := "live_started cohost_joined cohost_left live_ended"; strings.Join(got, " ") != want {
		t.Fatalf("events %v, want %s", got, want)
	}
	select {
	case m := <-msgs:
		t.Fatalf("unexpected event after the end: %s", m.Data)
	case <-time.After(300 * time.Millisecond):
	}
	js, _ := nc.JetStream()
	info, err := js.StreamInfo("ROOMS")
	if err != nil || info.State.Msgs < 4 {
		t.Fatalf("JetStream kept %+v (%v)", info, err)
	}
}

// /metrics exports the media plane's counters; /healthz answers.
func TestMetricsAndHealth(t *testing.T) {
	n := startNode(t, nil)
	publishSynthetic(t, n, "metrics", "k-metrics-1", 30, true)
	v := watch(t, n, "metrics", "", 1)
	eventually(t, 10*time.Second, "video at the viewer", func() bool {
		tr, ok := track(v, "metrics", "video", 0)
		return ok && tr.Frames > 10
	})
	status, _, body := do(t, "GET", n.base+"/metrics", "", "")
	if status != 200 {
		t.Fatalf("metrics %d", status)
	}
	for _, want := range []string{"onair_rooms 1", "onair_publishers 1", "onair_subscribers 1", "onair_plis_sent_total"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, counter := range []string{"onair_rtp_packets_in_total", "onair_rtp_packets_out_total", "onair_rtp_bytes_out_total"} {
		if strings.Contains(body, counter+" 0\n") || !strings.Contains(body, counter+" ") {
			t.Errorf("%s is zero or missing", counter)
		}
	}
	if status, _, body := do(t, "GET", n.base+"/healthz", "", ""); status != 200 || !strings.Contains(body, "ok") {
		t.Fatalf("healthz %d %s", status, body)
	}
	status, _, body = do(t, "GET", n.base+"/api/rooms", "", "")
	if status != 200 || !strings.Contains(body, `"id":"metrics"`) || !strings.Contains(body, `"viewers":1`) {
		t.Fatalf("rooms %d %s", status, body)
	}
}
