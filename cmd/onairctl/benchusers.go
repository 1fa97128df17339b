package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"time"

	client "github.com/onair-live/onair/clients/go"
)

// benchUser is one sender account of a chat load run. A --users file holds a
// JSON array of them; Token is filled in (and kept) once the account has
// logged in, so later runs skip sign-up and login, which the server
// rate-limits per address and which cost it an argon2id hash each.
type benchUser struct {
	Name     string `json:"name,omitempty"`
	Password string `json:"password,omitempty"`
	Token    string `json:"token"`
}

func readUsers(path string) ([]benchUser, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var users []benchUser
	if err := json.Unmarshal(b, &users); err != nil {
		return nil, fmt.Errorf("%s: want a JSON array of {\"name\",\"password\",\"token\"}: %w", path, err)
	}
	return users, nil
}

// writeUsers saves the accounts with a name (those from --token have none),
// readable by the owner only: tokens are credentials.
func writeUsers(path string, users []benchUser) error {
	var named []benchUser
	for _, u := range users {
		if u.Name != "" {
			named = append(named, u)
		}
	}
	b, err := json.MarshalIndent(named, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// senderPool finds the sender accounts of a run: --token values first, then
// the --users file, then new accounts (prefix1, prefix2, ...) signed up one
// after another, or logged in when the name is taken by an earlier run.
type senderPool struct {
	o        client.Options
	file     string
	prefix   string
	password string
	stderr   io.Writer

	users   []benchUser
	changed bool // users differ from the file
}

func newSenderPool(ctx context.Context, c benchChatConfig, stderr io.Writer) (*senderPool, error) {
	p := &senderPool{o: client.Options{BaseURL: c.URL}, file: c.UsersFile, prefix: c.NamePrefix, password: c.Password, stderr: stderr}
	for _, t := range c.Tokens {
		p.users = append(p.users, benchUser{Token: t})
	}
	if c.UsersFile != "" {
		fromFile, err := readUsers(c.UsersFile)
		if err != nil {
			return nil, err
		}
		p.users = append(p.users, fromFile...)
	}
	taken := map[string]bool{}
	for _, u := range p.users {
		taken[u.Name] = true
	}
	for n := 1; len(p.users) < c.Senders; n++ {
		name := c.NamePrefix + strconv.Itoa(n)
		if taken[name] {
			continue
		}
		p.users = append(p.users, benchUser{Name: name, Password: c.Password})
		p.changed = true
	}
	for i := range p.users[:c.Senders] {
		if p.users[i].Token == "" {
			if err := p.logIn(ctx, &p.users[i], true); err != nil {
				return nil, err
			}
		}
	}
	return p, p.save()
}

// logIn gets u a token: sign-up first when allowed (a taken name falls back to
// login), waiting out rate limits.
func (p *senderPool) logIn(ctx context.Context, u *benchUser, signup bool) error {
	if u.Name == "" || u.Password == "" {
		return fmt.Errorf("a sender token was refused and there is no name and password to log in again")
	}
	for {
		var l client.Login
		var err error
		if signup {
			l, err = client.Signup(ctx, p.o, u.Name, u.Password)
			var he *client.HTTPError
			if errors.As(err, &he) && he.Status == http.StatusConflict {
				signup = false
				continue
			}
		} else {
			l, err = client.LogIn(ctx, p.o, u.Name, u.Password)
		}
		var rl *client.RateLimitedError
		var he *client.HTTPError
		switch {
		case err == nil:
			u.Token = l.Token
			p.changed = true
			return nil
		case errors.As(err, &rl):
			fmt.Fprintf(p.stderr, "%s: rate-limited, waiting %v (raise accounts.login_burst on a test server)\n", u.Name, rl.RetryAfter)
			if !sleepCtx(ctx, rl.RetryAfter) {
				return ctx.Err()
			}
		case errors.As(err, &he) && he.Status == http.StatusServiceUnavailable: // hashing slots busy
			if !sleepCtx(ctx, time.Second) {
				return ctx.Err()
			}
		default:
			return fmt.Errorf("sender %s: %w", u.Name, err)
		}
	}
}

func (p *senderPool) save() error {
	if !p.changed || p.file == "" {
		return nil
	}
	p.changed = false
	return writeUsers(p.file, p.users)
}
