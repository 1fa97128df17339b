package payment

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"testing"
)

// macHere is the onair signature computed apart from Signer.
func macHere(key []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return m.Sum(nil)
}

// FuzzParseCallback feeds the callback parser any headers and body: it never
// panics, never accepts a request whose signature is not the HMAC of its
// timestamp and body, and what it accepts is a well-formed Callback. With
// signIt the fuzzer's body is signed correctly, so the body parser behind the
// signature is explored too.
func FuzzParseCallback(f *testing.F) {
	c := newClock()
	s, err := NewSigner(testSecret, Config{Now: c.Now})
	if err != nil {
		f.Fatal(err)
	}
	good := []byte(`{"event_id":"e1","provider_order_id":"p1","order_id":"o1","amount":999,"currency":"USD","status":"paid","at":"2030-01-02T12:00:00Z","x":[1]}`)
	valid := s.Sign(good)
	f.Add(valid.Timestamp, valid.Signature, good, false)
	f.Add(valid.Timestamp, valid.Signature, good, true)
	f.Add(valid.Timestamp, valid.Signature[:10], good, false)
	f.Add("", "", []byte("{}"), false)
	f.Add("-1", "00", []byte(`{"amount":1e400}`), true)
	f.Add("99999999999999999999", valid.Signature, []byte(`{"amount":-1,"currency":"usd"}`), true)
	f.Add(valid.Timestamp, valid.Signature, []byte(`{"event_id":"\u0000","status":"refunded"}{}`), true)
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte, signIt bool) {
		if signIt {
			ts = strconv.FormatInt(c.Now().Unix(), 10)
			sig = hex.EncodeToString(macHere(testSecret, ts, body))
		}
		cb, err := s.ParseCallback("fuzz", Signed{Timestamp: ts, Signature: sig}, body)
		if err != nil {
			if cb != (Callback{}) {
				t.Fatalf("refused (%v) but returned %+v", err, cb)
			}
			return
		}
		got, herr := hex.DecodeString(sig)
		if herr != nil || !hmac.Equal(got, macHere(testSecret, ts, body)) {
			t.Fatalf("accepted a request whose signature %q is not the HMAC of %q and the body", sig, ts)
		}
		switch {
		case cb.Provider != "fuzz" || cb.EventID == "" || cb.OrderID == "" || cb.ProviderOrderID == "":
			t.Fatalf("accepted without ids: %+v", cb)
		case cb.Amount <= 0 || !isCurrency(cb.Currency) || cb.At.IsZero():
			t.Fatalf("accepted a bad amount, currency or time: %+v", cb)
		case cb.Status != StatusPaid && cb.Status != StatusFailed && cb.Status != StatusRefunded:
			t.Fatalf("accepted status %q", cb.Status)
		case !cb.ValidUntil.After(c.Now().Add(-DefaultWindow)):
			t.Fatalf("accepted a stale request: valid until %v", cb.ValidUntil)
		}
	})
}
