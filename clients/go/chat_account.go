package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// User is an account as the API shows it.
type User struct {
	ID          string `json:"id"`
	Name        string `json:"name"` // the login handle
	DisplayName string `json:"display_name"`
	Role        string `json:"role"` // viewer, streamer, admin, superadmin
}

// Login is a logged-in account: Token goes in Options.Token (sent as Bearer).
type Login struct {
	Token string `json:"token"`
	User  User   `json:"user"`
}

// RateLimitedError is a 429 answer: try again after RetryAfter. Sign-up and
// login are rate-limited per address and per account.
type RateLimitedError struct {
	*HTTPError
	RetryAfter time.Duration
}

func (e *RateLimitedError) Unwrap() error { return e.HTTPError }

// Signup creates a viewer account and logs it in (POST /api/auth/signup).
func Signup(ctx context.Context, o Options, name, password string) (Login, error) {
	return authenticate(ctx, o, "signup", name, password, http.StatusCreated)
}

// LogIn logs an account in (POST /api/auth/login). Each call hashes the
// password on the server (argon2id): log in once and keep the token.
func LogIn(ctx context.Context, o Options, name, password string) (Login, error) {
	return authenticate(ctx, o, "login", name, password, http.StatusOK)
}

func authenticate(ctx context.Context, o Options, what, name, password string, want int) (Login, error) {
	body, _ := json.Marshal(map[string]string{"name": name, "password": password})
	var l Login
	err := apiCall(ctx, o, http.MethodPost, "/api/auth/"+what, body, want, &l)
	return l, err
}

// Me returns the account of o.Token (GET /api/me).
func Me(ctx context.Context, o Options) (User, error) {
	var u User
	err := apiCall(ctx, o, http.MethodGet, "/api/me", nil, http.StatusOK, &u)
	return u, err
}

// apiCall sends a JSON request to the REST API and decodes a JSON answer with
// status want into out; other answers are *HTTPError (*RateLimitedError for 429).
func apiCall(ctx context.Context, o Options, method, path string, body []byte, want int, out any) error {
	base, err := url.Parse(strings.TrimRight(o.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") {
		return fmt.Errorf("onair: the base URL %q is not an http or https URL", o.BaseURL)
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base.String()+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if o.Token != "" {
		req.Header.Set("Authorization", "Bearer "+o.Token)
	}
	resp, err := o.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("onair: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		he := newHTTPError(resp)
		if resp.StatusCode == http.StatusTooManyRequests {
			secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			return &RateLimitedError{HTTPError: he, RetryAfter: time.Duration(max(secs, 1)) * time.Second}
		}
		return he
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxErrorBody)).Decode(out); err != nil {
		return fmt.Errorf("onair: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}
