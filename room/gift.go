package room

// GiftBody is the body of a `gift` message, reserved for the economy: the
// server sends one only after the ledger has moved the money (clients never
// send it), and combos of the same gift from the same sender arrive as one
// message with a rising Combo.
type GiftBody struct {
	Gift   string `json:"gift"`   // catalog id
	Name   string `json:"name"`   // display name
	Count  int    `json:"count"`  // in this message
	Combo  int    `json:"combo"`  // running total of the combo, ≥ Count
	Effect string `json:"effect"` // banner, fullscreen
	Coins  int64  `json:"coins"`  // value of this message, in coins
	To     Sender `json:"to"`     // the streamer
}
