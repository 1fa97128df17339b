package natsbus

import "encoding/json"

// envelopeID reads just the id of an encoded envelope.
func envelopeID(b []byte) string {
	var e struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(b, &e)
	return e.ID
}
