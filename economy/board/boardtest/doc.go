// Package boardtest is the contract suite for board.Store. Every
// implementation runs the same cases from its own tests:
//
//	func TestContract(t *testing.T) { boardtest.Run(t, newStore) }
//
// The suite builds each store it needs through the Factory with its own
// board.Config, on a manual Clock, so period rollovers and expiry are exact and
// instant on every implementation: an expired board must read as empty by the
// store's clock, whether or not its storage is freed yet (that part each
// implementation tests itself).
//
// Beyond the interface comments, the suite pins: ties ordered by ID in byte
// order; day and week cut at local midnight and Monday in the configured zone;
// a late credit counting only on boards that are still kept; atomic Add seen
// from concurrent readers; a credit ID counted once within the window, also
// after a rebuild; Rebuild equal to Adding the same credits, and
// idempotent; bad input refused with board.ErrBadCredit or board.ErrBadBoard
// without changing anything.
package boardtest
