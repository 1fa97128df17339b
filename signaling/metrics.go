package signaling

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/onair-live/onair/room/hub"
	"github.com/onair-live/onair/sfu"
)

// mediaCollector exports the SFU's counters at scrape time, so the media hot path
// never touches Prometheus.
type mediaCollector struct {
	src   MediaPlane
	descs map[string]*prometheus.Desc
}

func newMediaCollector(m MediaPlane) *mediaCollector {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc("onair_"+name, help, nil, nil) }
	return &mediaCollector{src: m, descs: map[string]*prometheus.Desc{
		"rooms":       d("rooms", "Rooms with a live stage."),
		"publishers":  d("publishers", "WHIP sessions."),
		"subscribers": d("subscribers", "WHEP sessions."),
		"pkts_in":     d("rtp_packets_in_total", "RTP packets received from publishers."),
		"bytes_in":    d("rtp_bytes_in_total", "RTP bytes received from publishers."),
		"pkts_out":    d("rtp_packets_out_total", "RTP packets sent to subscribers."),
		"bytes_out":   d("rtp_bytes_out_total", "RTP bytes sent to subscribers."),
		"dropped":     d("rtp_dropped_packets_total", "Packets dropped because a subscriber's queue was full."),
		"plis":        d("plis_sent_total", "Keyframe requests sent to publishers."),
		"nacks":       d("nacks_received_total", "NACK packets received from subscribers."),
		"kfreq":       d("keyframe_requests_received_total", "PLI/FIR received from subscribers."),
		"padding":     d("padding_bytes_total", "Padding sent to probe viewers' paths before a layer up."),
		"switches":    d("layer_switches_total", "Simulcast layer switches made for viewers."),
		"replays":     d("gop_replays_total", "Viewers started from a kept GOP (instant start)."),
		"batches":     d("rtp_batches_total", "Segmented sends: several packets to one viewer in one system call."),
		"resent":      d("retransmits_total", "Packets sent again for viewers' NACKs from the SFU's own write path."),
		"onwire":      d("tracks_on_wire", "Viewers' tracks sent on the SFU's own write path (the rest go through pion)."),
	}}
}

func (m *mediaCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range m.descs {
		ch <- d
	}
}

func (m *mediaCollector) Collect(ch chan<- prometheus.Metric) {
	var s sfu.Stats = m.src.Stats()
	g := func(k string, v float64) { ch <- prometheus.MustNewConstMetric(m.descs[k], prometheus.GaugeValue, v) }
	c := func(k string, v uint64) {
		ch <- prometheus.MustNewConstMetric(m.descs[k], prometheus.CounterValue, float64(v))
	}
	g("rooms", float64(s.Rooms))
	g("publishers", float64(s.Publishers))
	g("subscribers", float64(s.Subscribers))
	c("pkts_in", s.PacketsIn)
	c("bytes_in", s.BytesIn)
	c("pkts_out", s.PacketsOut)
	c("bytes_out", s.BytesOut)
	c("dropped", s.Dropped)
	c("plis", s.PLIs)
	c("nacks", s.NACKs)
	c("kfreq", s.KeyframeRequests)
	c("padding", s.PaddingBytes)
	c("switches", s.LayerSwitches)
	c("replays", s.GOPReplays)
	c("batches", s.Batches)
	c("resent", s.Retransmits)
	g("onwire", float64(s.TracksOnWire))
}

// Fanout is the node's chat fan-out, for metrics.
type Fanout interface {
	Stats() hub.Stats
}

// fanoutCollector exports the chat fan-out's totals at scrape time.
type fanoutCollector struct {
	src                             Fanout
	rooms, sessions, dropped, slowC *prometheus.Desc
}

func newFanoutCollector(f Fanout) *fanoutCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("onair_chat_"+name, help, nil, nil)
	}
	return &fanoutCollector{src: f,
		rooms:    d("rooms", "Rooms with chat sessions on this node."),
		sessions: d("sessions", "Chat sessions (data channels and WebSockets) on this node."),
		dropped:  d("dropped_messages_total", "Messages dropped for sessions that did not keep up."),
		slowC:    d("slow_consumers_total", "Sessions disconnected for staying behind."),
	}
}

func (f *fanoutCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- f.rooms
	ch <- f.sessions
	ch <- f.dropped
	ch <- f.slowC
}

func (f *fanoutCollector) Collect(ch chan<- prometheus.Metric) {
	s := f.src.Stats()
	ch <- prometheus.MustNewConstMetric(f.rooms, prometheus.GaugeValue, float64(s.Rooms))
	ch <- prometheus.MustNewConstMetric(f.sessions, prometheus.GaugeValue, float64(s.Sessions))
	ch <- prometheus.MustNewConstMetric(f.dropped, prometheus.CounterValue, float64(s.Dropped))
	ch <- prometheus.MustNewConstMetric(f.slowC, prometheus.CounterValue, float64(s.SlowConsumers))
}
