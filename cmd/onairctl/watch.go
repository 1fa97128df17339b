package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	client "github.com/onair-live/onair/clients/go"
)

// watchConfig is the command line of "onairctl watch".
type watchConfig struct {
	commonFlags
	Token   string
	Viewers int
	Slots   int
}

func parseWatch(args []string, stderr io.Writer) (watchConfig, error) {
	var c watchConfig
	fs := flag.NewFlagSet("onairctl watch", flag.ContinueOnError)
	c.register(fs)
	fs.StringVar(&c.Token, "token", "", "a session token, sent as Bearer (private rooms)")
	fs.IntVar(&c.Viewers, "viewers", 1, "how many viewers to run")
	fs.IntVar(&c.Slots, "slots", 1, "video+audio transceiver pairs each viewer offers (one per co-host)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return c, err
	}
	if err := c.check(fs); err != nil {
		return c, err
	}
	if c.Viewers < 1 {
		return c, usagef("--viewers must be at least 1")
	}
	if c.Slots < 1 || c.Slots > 16 {
		return c, usagef("--slots must be between 1 and 16")
	}
	return c, nil
}

// viewerResult is what one viewer ended with.
type viewerResult struct {
	Err   error
	Stats client.ViewerStats
}

func runWatch(ctx context.Context, c watchConfig, stdout, stderr io.Writer) error {
	o := client.Options{BaseURL: c.URL, Room: c.Room, Token: c.Token, LoopbackOnly: c.Loopback}
	results := make([]viewerResult, c.Viewers)
	viewers := make([]*client.Viewer, c.Viewers)

	// Start every viewer at once: time to first frame is measured from each
	// one's own start.
	var wg sync.WaitGroup
	for i := range viewers {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, connectTimeout)
			defer cancel()
			v, err := client.Watch(cctx, o, c.Slots)
			if err != nil {
				results[i].Err = err
				return
			}
			viewers[i] = v
		})
	}
	wg.Wait()
	started := 0
	for i, r := range results {
		if r.Err != nil {
			fmt.Fprintf(stderr, "viewer %d: %v\n", i, r.Err)
		} else {
			started++
		}
	}
	if started > 0 {
		fmt.Fprintf(stderr, "%d viewers watching %s\n", started, c.Room)
		sleepCtx(ctx, c.Duration)
	}
	for i, v := range viewers {
		if v == nil {
			continue
		}
		wg.Go(func() {
			results[i].Stats = v.Stats()
			if err := v.Close(); err != nil {
				fmt.Fprintf(stderr, "viewer %d: close: %v\n", i, err)
			}
		})
	}
	wg.Wait()

	s := summarize(results)
	if err := printWatch(stdout, c.JSON, s); err != nil {
		return err
	}
	if started < c.Viewers {
		return fmt.Errorf("%d of %d viewers could not start", c.Viewers-started, c.Viewers)
	}
	return nil
}

// watchSummary is the report of "onairctl watch".
type watchSummary struct {
	Viewers      int      `json:"viewers"`
	Started      int      `json:"started"`
	Connected    int      `json:"connected"`
	WithKeyframe int      `json:"with_keyframe"`
	FirstFrame   msStats  `json:"first_frame_ms"` // time to the first keyframe, from the start of Watch
	Packets      uint64   `json:"packets"`
	Bytes        uint64   `json:"bytes"`
	BitrateBps   float64  `json:"bitrate_bps"`            // all viewers together
	ViewerBps    float64  `json:"bitrate_per_viewer_bps"` // mean over the viewers that started
	Missing      uint64   `json:"missing"`
	Expected     uint64   `json:"expected"`
	Loss         float64  `json:"loss"` // missing / expected
	Errors       []string `json:"errors,omitempty"`
}

// msStats are percentiles of durations, in milliseconds.
type msStats struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)) / 1000 }

func summarize(results []viewerResult) watchSummary {
	s := watchSummary{Viewers: len(results)}
	t := tallyViewers(results, client.ViewerStats.FirstKeyframe, func(st client.ViewerStats) {
		var bytes uint64
		for _, t := range st.Tracks {
			s.Packets += t.Packets
			bytes += t.Bytes
			s.Missing += t.Missing
			s.Expected += t.Expected
		}
		s.Bytes += bytes
		if st.Elapsed > 0 {
			s.BitrateBps += float64(bytes) * 8 / st.Elapsed.Seconds()
		}
	})
	s.Started, s.Connected, s.WithKeyframe, s.Errors = t.started, t.connected, len(t.firsts), t.errors
	if s.Started > 0 {
		s.ViewerBps = s.BitrateBps / float64(s.Started)
	}
	if s.Expected > 0 {
		s.Loss = float64(s.Missing) / float64(s.Expected)
	}
	s.FirstFrame = durationStats(t.firsts)
	return s
}

// viewerTally counts the viewers of a run.
type viewerTally struct {
	started, connected int
	firsts             []time.Duration // each viewer's time to its first frame, sorted
	errors             []string        // of the viewers that did not start
}

// tallyViewers counts the viewers that started and connected, takes their
// times to a first frame (as first tells) and passes the stats of each that
// started to each.
func tallyViewers(results []viewerResult, first func(client.ViewerStats) (time.Duration, bool), each func(client.ViewerStats)) viewerTally {
	var t viewerTally
	for _, r := range results {
		if r.Err != nil {
			t.errors = append(t.errors, r.Err.Error())
			continue
		}
		t.started++
		if r.Stats.Connected > 0 {
			t.connected++
		}
		if d, ok := first(r.Stats); ok {
			t.firsts = append(t.firsts, d)
		}
		each(r.Stats)
	}
	slices.Sort(t.firsts)
	return t
}

// durationStats returns the percentiles of sorted durations.
func durationStats(sorted []time.Duration) msStats {
	return msStats{P50: ms(percentile(sorted, 50)), P95: ms(percentile(sorted, 95)), P99: ms(percentile(sorted, 99)),
		Max: ms(percentile(sorted, 100))}
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted values by
// the nearest-rank method: the smallest value with at least p% of the values
// at or below it. It returns 0 for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func printWatch(w io.Writer, asJSON bool, s watchSummary) error {
	if asJSON {
		return printJSON(w, s)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "viewers\t%d (%d started, %d connected, %d with a keyframe)\n", s.Viewers, s.Started, s.Connected, s.WithKeyframe)
	if s.WithKeyframe > 0 {
		fmt.Fprintf(tw, "first frame\tp50 %.0f ms\tp95 %.0f ms\tmax %.0f ms\n", s.FirstFrame.P50, s.FirstFrame.P95, s.FirstFrame.Max)
	} else {
		fmt.Fprintln(tw, "first frame\tnone")
	}
	fmt.Fprintf(tw, "packets\t%d\n", s.Packets)
	fmt.Fprintf(tw, "bytes\t%d\n", s.Bytes)
	fmt.Fprintf(tw, "bitrate\t%s per viewer\t%s in all\n", formatBitrate(s.ViewerBps), formatBitrate(s.BitrateBps))
	fmt.Fprintf(tw, "loss\t%.3f%%\t(%d missing of %d expected)\n", 100*s.Loss, s.Missing, s.Expected)
	return tw.Flush()
}
