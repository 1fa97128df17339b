package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/pion/webrtc/v4"
)

// maxAnswer bounds the size of an SDP answer.
const maxAnswer = 1 << 20

// deleteTimeout bounds the DELETE sent by Close.
const deleteTimeout = 5 * time.Second

// offer waits for ICE gathering to complete (non-trickle), POSTs the local
// offer to endpoint, applies the answer and returns the absolute session URL
// from the Location header (RFC 9725 section 4.2).
func offer(ctx context.Context, o Options, pc *webrtc.PeerConnection, endpoint *url.URL) (string, error) {
	sdp, err := pc.CreateOffer(nil)
	if err != nil {
		return "", fmt.Errorf("onair: create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(sdp); err != nil {
		return "", fmt.Errorf("onair: set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", ctx.Err()
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(),
		bytes.NewBufferString(pc.LocalDescription().SDP))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Accept", "application/sdp, application/problem+json")
	if o.Token != "" {
		req.Header.Set("Authorization", "Bearer "+o.Token)
	}
	resp, err := o.httpClient().Do(req)
	if err != nil {
		return "", fmt.Errorf("onair: POST %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return "", newHTTPError(resp)
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", ErrNoLocation
	}
	locURL, err := endpoint.Parse(loc) // a relative Location is relative to the endpoint
	if err != nil {
		return "", fmt.Errorf("onair: bad Location %q: %w", loc, err)
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return "", fmt.Errorf("onair: read answer: %w", err)
	}
	err = pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)})
	if err != nil {
		// The server holds a session for us: end it.
		_ = deleteSession(context.WithoutCancel(ctx), o, locURL.String())
		return "", fmt.Errorf("onair: set remote description: %w", err)
	}
	return locURL.String(), nil
}

// deleteSession ends the WHIP/WHEP session at location (RFC 9725 section
// 4.3). A 404 means it is already gone and is not an error.
func deleteSession(ctx context.Context, o Options, location string) error {
	ctx, cancel := context.WithTimeout(ctx, deleteTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, location, nil)
	if err != nil {
		return err
	}
	if o.Token != "" {
		req.Header.Set("Authorization", "Bearer "+o.Token)
	}
	resp, err := o.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("onair: DELETE %s: %w", location, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusNotFound {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return nil
	}
	return newHTTPError(resp)
}
