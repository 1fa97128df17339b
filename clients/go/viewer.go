package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// DataChannelLabel is the label of the room's data channel (chat, likes,
// gifts); messages on it are JSON envelopes.
const DataChannelLabel = "room"

// readBufferSize holds any RTP packet pion delivers (its receive MTU is 1460).
const readBufferSize = 1500

// Viewer is a WHEP session receiving a room's tracks. Its methods may be
// called from any goroutine.
type Viewer struct {
	o        Options
	pc       *webrtc.PeerConnection
	dc       *webrtc.DataChannel
	location string
	start    time.Time
	state    *connState
	arrivals *arrivals // with Options.UDPGRO: when the socket received each RTP packet

	connectedAt atomic.Int64 // time.Duration since start; 0 until connected
	dcOpen      atomic.Bool
	messages    atomic.Uint64
	onFrame     atomic.Pointer[func(FrameInfo)]

	msgMu     sync.Mutex // guards onMessage and early; held while calling onMessage, so calls are in order
	onMessage func([]byte)
	early     [][]byte // messages that arrived before OnMessage was set

	mu     sync.Mutex // guards tracks and closed
	tracks []*trackState
	closed bool
	wg     sync.WaitGroup // track readers

	closeOnce sync.Once
	closeErr  error
}

// Watch starts a WHEP session: it offers slots recvonly video and slots
// recvonly audio transceivers (a video and an audio one per slot, one slot
// per publisher it can show) and the data channel "room", POSTs the complete
// offer (non-trickle) to {BaseURL}/whep/{Room} and expects 201 Created with a
// Location. Every track that arrives is read and accounted for in Stats.
// Times in the stats are measured from the start of Watch, before the POST.
//
// ctx bounds the signalling exchange only; the session lasts until Close.
// A non-201 answer is returned as *HTTPError.
func Watch(ctx context.Context, o Options, slots int) (*Viewer, error) {
	start := time.Now()
	if slots < 1 {
		return nil, fmt.Errorf("onair: Watch needs at least one slot, not %d", slots)
	}
	endpoint, err := o.endpoint("whep")
	if err != nil {
		return nil, err
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	var arr *arrivals
	if o.UDPGRO {
		arr = &arrivals{}
	}
	api, err := o.newAPI(m, arr)
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("onair: new peer connection: %w", err)
	}
	v := &Viewer{o: o, pc: pc, start: start, state: newConnState(), arrivals: arr}
	fail := func(err error) (*Viewer, error) {
		v.mu.Lock()
		v.closed = true
		v.mu.Unlock()
		_ = pc.Close()
		v.wg.Wait()
		return nil, err
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if v.state.update(s) {
			v.connectedAt.Store(int64(max(time.Since(start), 1)))
		}
	})
	pc.OnTrack(v.onTrack)
	recvonly := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}
	for range slots {
		for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
			if _, err := pc.AddTransceiverFromKind(kind, recvonly); err != nil {
				return fail(fmt.Errorf("onair: add %s transceiver: %w", kind, err))
			}
		}
	}
	// The data channel must exist before the offer to get its m=application.
	dc, err := pc.CreateDataChannel(DataChannelLabel, nil)
	if err != nil {
		return fail(fmt.Errorf("onair: create data channel: %w", err))
	}
	v.dc = dc
	dc.OnOpen(func() { v.dcOpen.Store(true) })
	dc.OnClose(func() { v.dcOpen.Store(false) })
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		v.messages.Add(1)
		v.msgMu.Lock()
		defer v.msgMu.Unlock()
		if v.onMessage != nil {
			v.onMessage(msg.Data)
		} else if len(v.early) < maxEarlyMessages {
			v.early = append(v.early, msg.Data)
		}
	})

	if v.location, err = offer(ctx, o, pc, endpoint); err != nil {
		return fail(err)
	}
	return v, nil
}

// onTrack starts reading a track that the server sends.
func (v *Viewer) onTrack(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	codec := remote.Codec().MimeType
	t := newTrackState(remote.Kind(), codec, v.start)
	t.arrivals = v.arrivals
	t.st = TrackStats{
		Kind: remote.Kind().String(), Codec: codec, SSRC: uint32(remote.SSRC()),
		StreamID: remote.StreamID(), TrackID: remote.ID(),
	}
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return
	}
	v.tracks = append(v.tracks, t)
	v.wg.Add(1)
	v.mu.Unlock()
	go v.read(remote, t)
	go readReports(recv, t)
}

// readReports reads the server's RTCP for a track: sender reports pass the
// interceptors only when read (without them this viewer's receiver reports
// say no sender report was seen, and the server learns no round trip).
func readReports(recv *webrtc.RTPReceiver, t *trackState) {
	for {
		pkts, _, err := recv.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			if _, ok := p.(*rtcp.SenderReport); ok {
				t.mu.Lock()
				t.st.SenderReports++
				t.mu.Unlock()
			}
		}
	}
}

// read accounts for the track's packets until it ends. It reuses one buffer
// and one rtp.Packet: nothing is allocated per packet.
func (v *Viewer) read(remote *webrtc.TrackRemote, t *trackState) {
	defer v.wg.Done()
	buf := make([]byte, readBufferSize)
	var pkt rtp.Packet
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		if fi, ok := t.observe(&pkt, n, time.Since(v.start)); ok {
			if f := v.onFrame.Load(); f != nil {
				(*f)(fi)
			}
		}
	}
}

// OnFrame sets the function called with each video frame received whole
// (see FrameInfo), on the track's reading goroutine, in the track's order;
// nil removes it. Frames that arrive before it is set are counted in Stats
// only; set it right after Watch returns, before the media flows. f must
// return quickly: the track is not read meanwhile.
func (v *Viewer) OnFrame(f func(FrameInfo)) {
	if f == nil {
		v.onFrame.Store(nil)
		return
	}
	v.onFrame.Store(&f)
}

// Location returns the absolute URL of the WHEP session.
func (v *Viewer) Location() string { return v.location }

// WaitConnected blocks until the peer connection is connected. It returns
// ErrClosed if the connection fails or is closed first, or ctx's error.
func (v *Viewer) WaitConnected(ctx context.Context) error { return v.state.wait(ctx) }

// Send sends a text message on the room's data channel (for example a JSON
// envelope {"type":"chat","body":{...}}). It fails until the channel is open.
func (v *Viewer) Send(text string) error {
	if !v.dcOpen.Load() {
		return errors.New("onair: the room data channel is not open")
	}
	return v.dc.SendText(text)
}

// maxEarlyMessages bounds the messages kept until OnMessage is set.
const maxEarlyMessages = 256

// OnMessage sets the function called, in order, with each data channel
// message; nil removes it. Messages that arrived while none was set (up to
// 256, such as a greeting sent as the channel opens) are passed to f first.
// f runs on pion's goroutine and must not call OnMessage.
func (v *Viewer) OnMessage(f func(data []byte)) {
	v.msgMu.Lock()
	defer v.msgMu.Unlock()
	v.onMessage = f
	if f == nil {
		return
	}
	early := v.early
	v.early = nil
	for _, m := range early {
		f(m)
	}
}

// Stats returns a copy of the viewer's statistics, in the order the tracks
// arrived.
func (v *Viewer) Stats() ViewerStats {
	v.mu.Lock()
	tracks := make([]*trackState, len(v.tracks))
	copy(tracks, v.tracks)
	v.mu.Unlock()
	s := ViewerStats{
		Location:        v.location,
		Elapsed:         time.Since(v.start),
		Connected:       time.Duration(v.connectedAt.Load()),
		DataChannelOpen: v.dcOpen.Load(),
		Messages:        v.messages.Load(),
		Tracks:          make([]TrackStats, len(tracks)),
	}
	for i, t := range tracks {
		s.Tracks[i] = t.snapshot()
	}
	return s
}

// Close ends the session: it sends DELETE to the Location (at most 5 s),
// closes the peer connection and waits for the track readers. Later calls
// return the first call's result.
func (v *Viewer) Close() error {
	v.closeOnce.Do(func() {
		v.mu.Lock()
		v.closed = true
		v.mu.Unlock()
		delErr := deleteSession(context.Background(), v.o, v.location)
		pcErr := v.pc.Close()
		v.wg.Wait()
		v.closeErr = errors.Join(delErr, pcErr)
	})
	return v.closeErr
}
