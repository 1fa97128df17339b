// Package e2e holds end-to-end tests: a whole onair node in-process on free ports,
// driven by the Go client, curl-like HTTP requests and headless Chromium.
package e2e
