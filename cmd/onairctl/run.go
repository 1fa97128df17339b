package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"
)

const usage = `usage: onairctl <command> [flags]

commands:
  publish     publish a room over WHIP from files or synthetic media
  watch       watch a room over WHEP with one or more viewers and report what arrived
  chat ROOM   join a room's chat: print its messages, send the lines typed
  bench       load a room's media: one WHIP publisher (simulcast or not) and many WHEP
              viewers; time to first frame, latency, loss, bit rate per layer, server CPU
  bench chat  load a room's chat: many receiving WebSockets, senders at a set rate;
              deliveries/s, latency, and the server's CPU and memory

Run "onairctl <command> -h" for a command's flags.
`

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// run is the whole program: it parses args, runs the command until it ends
// or ctx is cancelled, and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "publish":
		var cfg publishConfig
		if cfg, err = parsePublish(rest, stderr); err == nil {
			err = runPublish(ctx, cfg, stdout, stderr)
		}
	case "watch":
		var cfg watchConfig
		if cfg, err = parseWatch(rest, stderr); err == nil {
			err = runWatch(ctx, cfg, stdout, stderr)
		}
	case "chat":
		var cfg chatConfig
		if cfg, err = parseChat(rest, stderr); err == nil {
			err = runChat(ctx, cfg, stdin, stdout, stderr)
		}
	case "bench":
		if len(rest) > 0 && rest[0] == "chat" {
			var cfg benchChatConfig
			if cfg, err = parseBenchChat(rest[1:], stderr); err == nil {
				err = runBenchChat(ctx, cfg, stdout, stderr)
			}
			break
		}
		var cfg benchConfig
		if cfg, err = parseBench(rest, stderr); err == nil {
			err = runBench(ctx, cfg, stdout, stderr)
		}
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "onairctl: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		if !ue.printed {
			fmt.Fprintf(stderr, "onairctl: %v\n", err)
		}
		return exitUsage
	default:
		fmt.Fprintf(stderr, "onairctl: %v\n", err)
		return exitError
	}
}

// usageError is a bad command line; printed when the flag package has
// already shown it.
type usageError struct {
	msg     string
	printed bool
}

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{msg: fmt.Sprintf(format, a...)} }

// commonFlags are the flags every command has.
type commonFlags struct {
	URL      string
	Room     string
	Duration time.Duration
	JSON     bool
	Loopback bool
}

// defaultURL is the server a command talks to without --url.
const defaultURL = "http://127.0.0.1:8080"

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "url", defaultURL, "the onair server's base URL")
	fs.StringVar(&c.Room, "room", "", "the room id (required)")
	fs.DurationVar(&c.Duration, "duration", 30*time.Second, "how long to run; 0 runs until interrupted")
	fs.BoolVar(&c.JSON, "json", false, "print the final report as JSON")
	fs.BoolVar(&c.Loopback, "loopback", false,
		"keep ICE on the loopback interface (default: on when --url points at a loopback address)")
}

// check validates the common flags after parsing; it turns --loopback on
// for a loopback URL unless it was given explicitly.
func (c *commonFlags) check(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if err := checkURL("--url", c.URL); err != nil {
		return err
	}
	if c.Room == "" {
		return usagef("--room is required")
	}
	if c.Duration < 0 {
		return usagef("--duration must not be negative")
	}
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "loopback" })
	if !set {
		u, _ := url.Parse(c.URL)
		c.Loopback = isLoopbackHost(u.Hostname())
	}
	return nil
}

// checkURL refuses a flag's value unless it is an absolute http(s) URL.
func checkURL(flagName, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("%s %q is not an http(s) URL", flagName, s)
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseFlags parses args into fs, printing errors and help to stderr.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{msg: err.Error(), printed: true}
	}
	return nil
}

// printJSON writes a report as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// sleepCtx waits for d, or until ctx ends when d is 0. It reports whether the
// full time passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d == 0 {
		<-ctx.Done()
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
