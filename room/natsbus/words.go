package natsbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/room/filter"
)

// The platform word list lives in a JetStream key-value bucket, so it is durable
// and every node hears a change at once.
const (
	configBucket = "ONAIR_CONFIG"
	wordsKey     = "words"
)

// Words is the word list in the bucket.
type Words struct{ kv jetstream.KeyValue }

// OpenWords opens (creating if needed) the configuration bucket.
func OpenWords(ctx context.Context, js jetstream.JetStream) (*Words, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: configBucket, History: 5})
	if err != nil {
		return nil, fmt.Errorf("natsbus: config bucket: %w", err)
	}
	return &Words{kv: kv}, nil
}

// Get returns the current list (empty when none was ever set).
func (w *Words) Get(ctx context.Context) ([]room.WordRule, error) {
	e, err := w.kv.Get(ctx, wordsKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return []room.WordRule{}, nil
	}
	if err != nil {
		return nil, err
	}
	var rules []room.WordRule
	if err := json.Unmarshal(e.Value(), &rules); err != nil {
		return nil, fmt.Errorf("natsbus: stored word list: %w", err)
	}
	return rules, nil
}

// Set validates and stores a new list; every node's Watch picks it up.
func (w *Words) Set(ctx context.Context, rules []room.WordRule) error {
	if _, err := room.CompileWords(rules); err != nil {
		return err
	}
	b, _ := json.Marshal(rules)
	_, err := w.kv.Put(ctx, wordsKey, b)
	return err
}

// Watch calls apply with the compiled list now and after every change, until ctx
// ends.
func (w *Words) Watch(ctx context.Context, apply func(*filter.Filter)) error {
	watcher, err := w.kv.Watch(ctx, wordsKey)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopping while it started
		}
		return err
	}
	defer watcher.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-watcher.Updates():
			if !ok {
				return nil
			}
			if e == nil { // the initial values are done
				continue
			}
			var rules []room.WordRule
			if json.Unmarshal(e.Value(), &rules) != nil {
				continue
			}
			if f, err := room.CompileWords(rules); err == nil {
				apply(f)
			}
		}
	}
}
