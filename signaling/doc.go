// Package signaling is onair's edge: the one echo HTTP server with the WHIP and
// WHEP resources (RFC 9725), the REST API, the web pages and metrics. Every line of
// echo code in the project lives here; domain packages never see HTTP.
package signaling
