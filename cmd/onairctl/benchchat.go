package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	client "github.com/onair-live/onair/clients/go"
)

// benchChatConfig is the command line of "onairctl bench chat".
type benchChatConfig struct {
	URL        string
	Room       string
	Conns      int
	Rate       float64
	Duration   time.Duration
	Senders    int
	Tokens     []string
	UsersFile  string
	NamePrefix string
	Password   string
	DialRate   float64
	Drain      time.Duration
	Metrics    string
	JSON       bool
	CPUProfile string
}

func parseBenchChat(args []string, stderr io.Writer) (benchChatConfig, error) {
	var c benchChatConfig
	fs := flag.NewFlagSet("onairctl bench chat", flag.ContinueOnError)
	fs.StringVar(&c.URL, "url", defaultURL, "the onair server's base URL")
	fs.StringVar(&c.Room, "room", "bench", "the room id")
	fs.IntVar(&c.Conns, "conns", 1000, "receiving connections (anonymous WebSockets)")
	fs.Float64Var(&c.Rate, "rate", 100, "messages per second, all senders together")
	fs.DurationVar(&c.Duration, "duration", 20*time.Second, "how long to send")
	fs.IntVar(&c.Senders, "senders", 0, "sender accounts, each on its own WebSocket (default: one per message per second, the server's default per-user limit)")
	fs.Func("token", "a sender's session token (repeatable, or comma separated)", func(v string) error {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				c.Tokens = append(c.Tokens, t)
			}
		}
		return nil
	})
	fs.StringVar(&c.UsersFile, "users", "", "a JSON file of sender accounts [{\"name\",\"password\",\"token\"}]; accounts created or logged in are saved to it")
	fs.StringVar(&c.NamePrefix, "name-prefix", "bench-", "names of the sender accounts to sign up: PREFIX1, PREFIX2, ...")
	fs.StringVar(&c.Password, "password", "onair-bench-password", "password of the sender accounts signed up")
	fs.Float64Var(&c.DialRate, "dial-rate", 500, "new connections per second")
	fs.DurationVar(&c.Drain, "drain", 5*time.Second, "the most to wait after the last message for deliveries")
	fs.StringVar(&c.Metrics, "metrics", "", "the server's Prometheus URL (e.g. http://127.0.0.1:8080/metrics): report its CPU and memory")
	fs.BoolVar(&c.JSON, "json", false, "print the report as JSON")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write this tool's own CPU profile, while it sends, to a file")
	if err := parseFlags(fs, args, stderr); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, usagef("unexpected argument %q", fs.Arg(0))
	}
	if err := checkURL("--url", c.URL); err != nil {
		return c, err
	}
	if c.Metrics != "" {
		if err := checkURL("--metrics", c.Metrics); err != nil {
			return c, err
		}
	}
	switch {
	case c.Room == "":
		return c, usagef("--room must not be empty")
	case c.Conns < 1:
		return c, usagef("--conns must be at least 1")
	case !(c.Rate > 0) || math.IsInf(c.Rate, 0):
		return c, usagef("--rate must be positive")
	case c.Duration <= 0:
		return c, usagef("--duration must be positive")
	case c.Senders < 0:
		return c, usagef("--senders must not be negative")
	case !(c.DialRate > 0):
		return c, usagef("--dial-rate must be positive")
	case c.Drain < 0:
		return c, usagef("--drain must not be negative")
	}
	if c.Senders == 0 {
		c.Senders = max(len(c.Tokens), int(math.Ceil(c.Rate)))
	}
	if c.Messages() < 1 {
		return c, usagef("--rate × --duration sends no message")
	}
	return c, nil
}

// Messages is how many messages the run sends.
func (c benchChatConfig) Messages() int { return int(c.Rate * c.Duration.Seconds()) }

// benchText is a message's text: the run's marker, then the message's number
// and its send time in Unix nanoseconds. The marker holds a random run id, so
// messages of earlier runs (in the history a new connection gets) never count.
func benchText(marker string, n int, sent time.Time) string {
	return marker + strconv.Itoa(n) + ":" + strconv.FormatInt(sent.UnixNano(), 10)
}

// scanFrame finds this run's messages in a frame without decoding it and
// calls found with each one's send time (Unix ns) and the server's stamp (its
// "ts", Unix ms; 0 if none), which comes before the body in an envelope. It
// also sums the counts of the server's "dropped" notices (a reader too slow for
// its queue).
func scanFrame(frame, marker []byte, found func(sentNs, stampMs int64)) (dropped int64) {
	for rest := frame; ; {
		i := bytes.Index(rest, marker)
		if i < 0 {
			break
		}
		var stamp int64
		if j := bytes.LastIndex(rest[:i], stampKey); j >= 0 {
			stamp, _ = leadingInt(rest[j+len(stampKey) : i])
		}
		rest = rest[i+len(marker):]
		_, rest = leadingInt(rest) // message number
		if len(rest) == 0 || rest[0] != ':' {
			continue
		}
		var ns int64
		if ns, rest = leadingInt(rest[1:]); ns > 0 {
			found(ns, stamp)
		}
	}
	for rest := frame; ; {
		i := bytes.Index(rest, droppedNotice)
		if i < 0 {
			return dropped
		}
		var n int64
		n, rest = leadingInt(rest[i+len(droppedNotice):])
		dropped += n
	}
}

// stampKey precedes an envelope's server time.
var stampKey = []byte(`"ts":`)

// droppedNotice starts the body of the server's notice of dropped messages.
var droppedNotice = []byte(`"event":"dropped","count":`)

// leadingInt parses the decimal digits at the start of b.
func leadingInt(b []byte) (int64, []byte) {
	var n int64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9' && i < 19; i++ {
		n = n*10 + int64(b[i]-'0')
	}
	return n, b[i:]
}

// errorFrame is how an error envelope appears in a frame (the server's JSON has
// no spaces); only frames holding it are decoded.
var errorFrame = []byte(`"type":"error"`)

// chatBench is one run of "onairctl bench chat".
type chatBench struct {
	c      benchChatConfig
	marker []byte
	stderr io.Writer

	shards   []*latencyShard // receiver i records into shards[i%len]
	dropped  atomic.Int64
	lost     atomic.Int64 // receivers whose connection ended during the run
	sent     atomic.Int64
	sendErrs atomic.Int64

	mu       sync.Mutex
	refused  map[string]int64 // error code → count
	dialErrs []string
}

func runBenchChat(ctx context.Context, c benchChatConfig, stdout, stderr io.Writer) error {
	var id [4]byte
	_, _ = rand.Read(id[:])
	b := &chatBench{c: c, stderr: stderr, refused: map[string]int64{},
		marker: []byte("onair-bench:" + hex.EncodeToString(id[:]) + ":")}
	for range 16 {
		b.shards = append(b.shards, &latencyShard{})
	}
	res := benchChatResult{Room: c.Room, Connections: c.Conns, Senders: c.Senders, Rate: c.Rate}

	pool, err := newSenderPool(ctx, c, stderr)
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup // every reading goroutine
	defer wg.Wait()
	senders, err := b.dialSenders(runCtx, pool, &wg)
	defer closeAll(senders)
	if err != nil {
		return err
	}

	var before, connected, after serverSample
	if c.Metrics != "" {
		if before, err = scrape(ctx, c.Metrics); err != nil {
			return err
		}
	}
	start := time.Now()
	receivers := b.dialReceivers(runCtx, &wg)
	defer closeReceivers(receivers)
	res.ConnectSeconds = time.Since(start).Seconds()
	res.Established = len(receivers)
	res.DialFailed = c.Conns - len(receivers)
	b.mu.Lock()
	res.Errors = b.dialErrs
	b.mu.Unlock()
	if len(receivers) == 0 {
		return fmt.Errorf("no receiving connection: %s", strings.Join(res.Errors, "; "))
	}
	fmt.Fprintf(stderr, "%d receivers and %d senders connected in %.1f s; sending %d messages over %v\n",
		len(receivers), len(senders), res.ConnectSeconds, c.Messages(), c.Duration)
	sleepCtx(ctx, time.Second) // let the history frames land
	if c.Metrics != "" {
		if connected, err = scrape(ctx, c.Metrics); err != nil {
			return err
		}
	}

	if c.CPUProfile != "" {
		stopProfile, err := startCPUProfile(c.CPUProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	start = time.Now()
	b.send(runCtx, senders, start)
	// The last message goes out at (messages-1)/rate: the window is --duration,
	// unless the run was interrupted.
	res.Seconds = time.Since(start).Seconds()
	if ctx.Err() == nil {
		res.Seconds = max(res.Seconds, c.Duration.Seconds())
	}
	b.drain(ctx, receivers)
	if c.Metrics != "" { // an interrupted run still reports
		if after, err = scrape(context.WithoutCancel(ctx), c.Metrics); err != nil {
			return err
		}
	}
	stop()
	closeReceivers(receivers)
	closeAll(senders)
	wg.Wait()

	b.result(&res, receivers)
	if c.Metrics != "" {
		res.Server = newServerUsage(before, connected, after, len(receivers), res.Deliveries)
	}
	if err := printBenchChat(stdout, c.JSON, res); err != nil {
		return err
	}
	if res.Sent == 0 {
		return errors.New("no message could be sent")
	}
	return nil
}

func closeAll(conns []*client.Chat) {
	for _, c := range conns {
		_ = c.CloseNow()
	}
}

// receiver is one receiving connection and what it has counted.
type receiver struct {
	conn      *client.Chat
	hist      *latencyShard
	delivered atomic.Int64 // this run's messages received
}

func closeReceivers(rs []*receiver) {
	for _, r := range rs {
		_ = r.conn.CloseNow()
	}
}

func delivered(rs []*receiver) int64 {
	var n int64
	for _, r := range rs {
		n += r.delivered.Load()
	}
	return n
}

// dialTimeout bounds one WebSocket handshake.
const dialTimeout = 15 * time.Second

// dialChat connects one session, retrying failures that may pass (network
// errors, 429, 5xx) up to three times.
func dialChat(ctx context.Context, o client.Options) (*client.Chat, error) {
	for attempt := 0; ; attempt++ {
		dctx, cancel := context.WithTimeout(ctx, dialTimeout)
		conn, err := client.DialChat(dctx, o, "")
		cancel()
		if err == nil {
			return conn, nil
		}
		var he *client.HTTPError
		permanent := errors.As(err, &he) && he.Status < 500 && he.Status != http.StatusTooManyRequests
		if permanent || attempt == 2 || ctx.Err() != nil {
			return nil, err
		}
		if !sleepCtx(ctx, time.Duration(200<<attempt)*time.Millisecond) {
			return nil, ctx.Err()
		}
	}
}

// dialSenders connects the senders, logging one in again when its token is
// refused, and starts a goroutine per sender that reads its frames and counts
// refusals.
func (b *chatBench) dialSenders(ctx context.Context, pool *senderPool, wg *sync.WaitGroup) ([]*client.Chat, error) {
	var conns []*client.Chat
	for i := range b.c.Senders {
		u := &pool.users[i]
		o := client.Options{BaseURL: b.c.URL, Room: b.c.Room, Token: u.Token}
		conn, err := dialChat(ctx, o)
		var he *client.HTTPError
		if errors.As(err, &he) && he.Status == http.StatusUnauthorized && u.Password != "" {
			if err = pool.logIn(ctx, u, false); err == nil {
				o.Token = u.Token
				conn, err = dialChat(ctx, o)
			}
		}
		if err != nil {
			return conns, fmt.Errorf("sender %d (%s): %w", i+1, u.Name, err)
		}
		conns = append(conns, conn)
		wg.Go(func() { b.readSender(ctx, conn) })
	}
	return conns, pool.save()
}

func (b *chatBench) readSender(ctx context.Context, conn *client.Chat) {
	var buf []byte
	for {
		frame, err := conn.ReadFrame(ctx, buf)
		if err != nil {
			return
		}
		buf = frame
		if !bytes.Contains(frame, errorFrame) {
			continue
		}
		batch, _ := client.DecodeFrame(frame)
		b.mu.Lock()
		for _, e := range batch {
			if e.Type == "error" {
				var re client.RoomError
				_ = json.Unmarshal(e.Body, &re)
				b.refused[re.Code]++
			}
		}
		b.mu.Unlock()
	}
}

// dialReceivers opens the anonymous receiving connections at --dial-rate, at
// most 256 handshakes at a time, and starts a reading goroutine on each.
func (b *chatBench) dialReceivers(ctx context.Context, wg *sync.WaitGroup) []*receiver {
	o := client.Options{BaseURL: b.c.URL, Room: b.c.Room}
	var (
		mu    sync.Mutex
		conns []*receiver
		dials sync.WaitGroup
	)
	sem := make(chan struct{}, 256)
	tick := time.NewTicker(time.Duration(float64(time.Second) / b.c.DialRate))
	defer tick.Stop()
	progress := time.Now()
	for i := range b.c.Conns {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		dials.Go(func() {
			defer func() { <-sem }()
			conn, err := dialChat(ctx, o)
			if err != nil {
				b.mu.Lock()
				if len(b.dialErrs) < 5 {
					b.dialErrs = append(b.dialErrs, err.Error())
				}
				b.mu.Unlock()
				return
			}
			r := &receiver{conn: conn, hist: b.shards[i%len(b.shards)]}
			mu.Lock()
			conns = append(conns, r)
			mu.Unlock()
			wg.Go(func() { b.readReceiver(ctx, r) })
		})
		if time.Since(progress) >= 2*time.Second {
			progress = time.Now()
			fmt.Fprintf(b.stderr, "dialled %d of %d\n", i+1, b.c.Conns)
		}
	}
	dials.Wait()
	return conns
}

// readReceiver reads frames into one reused buffer and looks only for this
// run's marker: no JSON decoding per message.
func (b *chatBench) readReceiver(ctx context.Context, r *receiver) {
	buf := make([]byte, 0, 4096)
	for {
		frame, err := r.conn.ReadFrame(ctx, buf)
		if err != nil {
			if ctx.Err() == nil {
				b.lost.Add(1)
			}
			return
		}
		buf = frame
		now := time.Now().UnixNano()
		var n int64
		if d := scanFrame(frame, b.marker, func(sent, stamp int64) {
			r.hist.record(sent, stamp, now)
			n++
		}); d > 0 {
			b.dropped.Add(d)
		}
		if n > 0 {
			r.delivered.Add(n)
		}
	}
}

// send posts the run's messages: message k at start + k/rate, from sender
// k mod senders, each sender from its own goroutine.
func (b *chatBench) send(ctx context.Context, senders []*client.Chat, start time.Time) {
	total := b.c.Messages()
	var wg sync.WaitGroup
	for i, conn := range senders {
		wg.Go(func() {
			t := time.NewTimer(0)
			defer t.Stop()
			<-t.C
			for k := i; k < total; k += len(senders) {
				t.Reset(time.Until(start.Add(time.Duration(float64(k) / b.c.Rate * float64(time.Second)))))
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				if err := conn.SendChat(ctx, benchText(string(b.marker), k, time.Now())); err != nil {
					b.sendErrs.Add(1)
					continue
				}
				b.sent.Add(1)
			}
		})
	}
	wg.Wait()
}

// drain waits until every accepted message has reached every receiver, or
// --drain has passed.
func (b *chatBench) drain(ctx context.Context, rs []*receiver) {
	deadline := time.Now().Add(b.c.Drain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		b.mu.Lock()
		var refused int64
		for _, n := range b.refused {
			refused += n
		}
		b.mu.Unlock()
		if delivered(rs) >= (b.sent.Load()-refused)*int64(len(rs)) {
			return
		}
		sleepCtx(ctx, 50*time.Millisecond)
	}
}

// benchChatResult is the report of "onairctl bench chat".
type benchChatResult struct {
	Room             string           `json:"room"`
	Connections      int              `json:"connections"` // asked for
	Established      int              `json:"established"`
	DialFailed       int              `json:"dial_failed"`
	ConnectSeconds   float64          `json:"connect_seconds"`
	Lost             int64            `json:"lost"` // receivers the server disconnected during the run
	Senders          int              `json:"senders"`
	Rate             float64          `json:"rate"`    // messages per second asked for
	Seconds          float64          `json:"seconds"` // spent sending
	Sent             int64            `json:"sent"`
	SendFailed       int64            `json:"send_failed"`
	Refused          int64            `json:"refused"`
	RefusedBy        map[string]int64 `json:"refused_by,omitempty"`
	Deliveries       int64            `json:"deliveries"`
	Expected         int64            `json:"expected"` // (sent - refused) × established
	DeliveredPct     float64          `json:"delivered_pct"`
	DeliveriesPerSec float64          `json:"deliveries_per_s"` // deliveries / seconds spent sending
	Dropped          int64            `json:"dropped"`          // what the server said it dropped for slow readers
	Latency          msStats          `json:"latency_ms"`       // from send to receipt
	ToServer         msStats          `json:"to_server_ms"`     // from send to the server's stamp (1 ms resolution)
	FanOut           msStats          `json:"fan_out_ms"`       // from the server's stamp to receipt (likewise)
	Server           *serverUsage     `json:"server,omitempty"`
	Errors           []string         `json:"errors,omitempty"` // the first dial errors
}

func (b *chatBench) result(r *benchChatResult, rs []*receiver) {
	r.Sent, r.SendFailed = b.sent.Load(), b.sendErrs.Load()
	b.mu.Lock()
	for code, n := range b.refused {
		r.Refused += n
		if r.RefusedBy == nil {
			r.RefusedBy = map[string]int64{}
		}
		r.RefusedBy[code] = n
	}
	b.mu.Unlock()
	r.Deliveries, r.Dropped, r.Lost = delivered(rs), b.dropped.Load(), b.lost.Load()
	r.Expected = (r.Sent - r.Refused) * int64(r.Established)
	if r.Expected > 0 {
		r.DeliveredPct = math.Round(float64(r.Deliveries)/float64(r.Expected)*1e4) / 100
	}
	if r.Seconds > 0 {
		r.DeliveriesPerSec = math.Round(float64(r.Deliveries) / r.Seconds)
	}
	var total, toServer, fanOut []*latencyHist
	for _, s := range b.shards {
		total, toServer, fanOut = append(total, &s.total), append(toServer, &s.toServer), append(fanOut, &s.fanOut)
	}
	r.Latency, r.ToServer, r.FanOut = mergeHists(total).stats(), mergeHists(toServer).stats(), mergeHists(fanOut).stats()
}

func printBenchChat(w io.Writer, asJSON bool, r benchChatResult) error {
	if asJSON {
		return printJSON(w, r)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "connections\t%d of %d in %.1f s (%d failed; %d lost during the run)\n", r.Established, r.Connections,
		r.ConnectSeconds, r.DialFailed, r.Lost)
	fmt.Fprintf(tw, "messages\t%d sent by %d senders in %.1f s (%g/s asked); %d refused%s; %d send errors\n",
		r.Sent, r.Senders, r.Seconds, r.Rate, r.Refused, formatCounts(r.RefusedBy), r.SendFailed)
	fmt.Fprintf(tw, "deliveries\t%d of %d (%.2f%%), %.0f/s; %d dropped by the server\n", r.Deliveries, r.Expected,
		r.DeliveredPct, r.DeliveriesPerSec, r.Dropped)
	for _, l := range []struct {
		name string
		v    msStats
	}{{"latency", r.Latency}, {"  to server", r.ToServer}, {"  fan-out", r.FanOut}} {
		fmt.Fprintf(tw, "%s\tp50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms\n", l.name, l.v.P50, l.v.P95, l.v.P99, l.v.Max)
	}
	if s := r.Server; s != nil {
		fmt.Fprintf(tw, "server CPU\t%.2f cores while sending: %.2f µs per delivery, %.1f µs/s per connection\n",
			s.CPUCores, s.CPUPerDeliveryUS, s.CPUPerConnUSPerS)
		fmt.Fprintf(tw, "server memory\tper connection: %.1f KiB RSS, %.1f KiB live heap, %.1f KiB stack, %.1f goroutines\n",
			s.RSSPerConnKiB, s.HeapPerConnKiB, s.StackPerConnKiB, s.GoroutinesPerConn)
		fmt.Fprintf(tw, "server RSS\t%.0f MiB before, %.0f MiB connected, %.0f MiB after\n",
			s.Before.RSSBytes/(1<<20), s.Connected.RSSBytes/(1<<20), s.After.RSSBytes/(1<<20))
	}
	for _, e := range r.Errors {
		fmt.Fprintf(tw, "dial error\t%s\n", e)
	}
	return tw.Flush()
}

// formatCounts shows counts by name as " (a: 1, b: 2)", sorted; "" for none.
func formatCounts(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// startCPUProfile profiles this process into path until the returned func runs.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}
