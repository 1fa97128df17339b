// Package natsbus carries room messages over NATS: a Relay subscribes a node to
// the rooms it has local sessions in and hands each message once to the hub, and
// History reads a room's recent messages from the JetStream stream that keeps
// them (stream ROOMS: the last 50 per room, at most 24 h).
package natsbus
