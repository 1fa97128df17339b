package app

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/payment"
	"github.com/onair-live/onair/economy/wallet"
	"github.com/onair-live/onair/store"
)

// PaymentsConfig configures recharges (payment providers) and the wallet's
// reconciler.
type PaymentsConfig struct {
	// Dev turns on the built-in dev provider and its confirm page /pay/dev,
	// where anyone who reaches it can mark their order paid: for trying it
	// out only. --dev turns it on too.
	Dev bool `yaml:"dev"`
	// CallbackWindow is how far a callback's Onair-Timestamp may be from this
	// node's clock, either way (0: 5m).
	CallbackWindow time.Duration `yaml:"callback_window"`
	wallet.Config  `yaml:",inline"`
}

// Validate reports a setting that cannot work.
func (c PaymentsConfig) Validate() error {
	if c.CallbackWindow < 0 || c.CallbackWindow > time.Hour {
		return errors.New("payments.callback_window: 0 (5m) to 1h")
	}
	if err := c.Config.Validate(); err != nil {
		return fmt.Errorf("payments: %w", err)
	}
	return nil
}

// walletEdge is the wallet as the edge uses it: the service, and the dev
// provider when it is on.
type walletEdge struct {
	*wallet.Service
	dev *payment.Dev
}

// Dev implements signaling.Wallet.
func (w walletEdge) Dev() *payment.Dev { return w.dev }

// newWallet builds the recharge and withdrawal service on the node's store
// and ledger, with the dev provider if the configuration asks for it.
func newWallet(cfg Config, db *store.DB, ledger *economy.Ledger, log *slog.Logger) (walletEdge, error) {
	var w walletEdge
	var providers []payment.Provider
	if cfg.Payments.Dev || cfg.Dev {
		dev, err := payment.NewDev(payment.DevConfig{Window: cfg.Payments.CallbackWindow})
		if err != nil {
			return w, err
		}
		w.dev, providers = dev, append(providers, dev)
		log.Warn("dev payments are on: anyone who reaches /pay/dev can mark their recharge paid")
	}
	svc, err := wallet.New(cfg.Payments.Config, wallet.Deps{Store: db, Ledger: ledger, Terms: terms{db}, Providers: providers, Log: log})
	if err != nil {
		return w, err
	}
	w.Service = svc
	return w, nil
}

// DevPayments is the dev payment provider when it is on, else nil: tests sign
// callbacks with it as a provider would.
func (a *App) DevPayments() *payment.Dev { return a.wallet.dev }
