// Package roomtest is the contract suite for room's hot-state interfaces
// (room.Presence, room.Directory, room.Limiter). Every implementation runs the
// same cases from its own tests:
//
//	func TestContract(t *testing.T) { roomtest.Run(t, newEnv) }
//
// A store on a manual clock (memstore) moves time with Env.Advance; a store on
// real time (Redis) gets a no-op Advance and the suite waits with Eventually, so
// expiry is checked with short TTLs and a poll, never with a sleep or a timing
// threshold. Bounds on the limiter's rate are derived from the elapsed time the
// suite measures on Env.Now, and hold for both kinds of clock.
//
// Beyond the interface comments, the suite pins what both implementations do:
// a node whose lease lapsed has lost its sessions (Renew does not bring them
// back); List is sorted by ID; bad room ids fail with room.ErrBadID; a ttl, rate
// or burst that is not positive, an empty node or session, and a cancelled ctx
// are errors.
package roomtest
