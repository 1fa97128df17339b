-- Recharge orders and withdrawals (package economy/wallet). The money itself
-- moves in the ledger (0006); these rows are the requests and their states.
-- A row records a decision before its ledger transaction is posted, with a
-- deterministic idempotency key, so that after a crash the reconciler posts it
-- again (a replay if it had committed) and finishes the row. Users who have
-- orders or withdrawals cannot be deleted: they are financial records.

-- A recharge: the user pays price_cents through a provider and gets coins.
-- status is pending → paid | failed, paid → refunded. settling is the status
-- that a verified callback is moving the order to while its ledger
-- transaction is posted ('' when none): pending + settling 'paid' means "the
-- provider said paid; the coins are being credited".
CREATE TABLE recharge_orders (
    id                {{key}} PRIMARY KEY,                   -- ULID: sorts by time
    user_id           {{key}} NOT NULL REFERENCES users (id),
    idempotency_key   {{key}} NOT NULL,                      -- the client's, per user
    package_id        TEXT NOT NULL,
    price_cents       BIGINT NOT NULL CHECK (price_cents > 0),
    currency          TEXT NOT NULL,                         -- ISO 4217
    coins             BIGINT NOT NULL CHECK (coins > 0),     -- fixed at the terms of creation
    provider          TEXT NOT NULL,
    provider_order_id {{key}} NOT NULL DEFAULT '',           -- '' until the checkout opens
    checkout_url      TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid', 'failed', 'refunded')),
    settling          TEXT NOT NULL DEFAULT '' CHECK (settling IN ('', 'paid', 'refunded')),
    credit_txn        {{key}} NOT NULL DEFAULT '',           -- ledger txn of the credit
    refund_txn        {{key}} NOT NULL DEFAULT '',           -- ledger txn of the reversal
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX recharge_orders_user ON recharge_orders (user_id, id);
CREATE INDEX recharge_orders_status ON recharge_orders (status, id);
-- One order per provider order id: a callback finds exactly one.
CREATE UNIQUE INDEX recharge_orders_provider ON recharge_orders (provider, provider_order_id) WHERE provider_order_id <> '';
-- The reconciler's work: the few orders with a settlement open.
CREATE INDEX recharge_orders_settling ON recharge_orders (settling) WHERE settling <> '';

-- A withdrawal: earnings held at request, paid out on approval, returned on
-- rejection. status is holding (the row exists, its hold is being posted) →
-- requested → approved | rejected. settle_txn is '' while a decision's ledger
-- transaction is not yet recorded.
CREATE TABLE withdrawals (
    id                {{key}} PRIMARY KEY,                   -- ULID: sorts by time
    user_id           {{key}} NOT NULL REFERENCES users (id),
    idempotency_key   {{key}} NOT NULL,                      -- the client's, per user
    earnings          BIGINT NOT NULL CHECK (earnings > 0),
    cents_per_earning BIGINT NOT NULL CHECK (cents_per_earning > 0), -- the ratio at request time
    cents             BIGINT NOT NULL CHECK (cents > 0),     -- earnings × cents_per_earning
    status            TEXT NOT NULL DEFAULT 'holding' CHECK (status IN ('holding', 'requested', 'approved', 'rejected')),
    hold_txn          {{key}} NOT NULL DEFAULT '',
    settle_txn        {{key}} NOT NULL DEFAULT '',
    decided_by        {{key}} NOT NULL DEFAULT '',
    decided_at        BIGINT NOT NULL DEFAULT 0,
    reason            TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,                       -- its UTC day counts toward the daily limit
    updated_at        BIGINT NOT NULL,
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX withdrawals_user ON withdrawals (user_id, id);
CREATE INDEX withdrawals_user_day ON withdrawals (user_id, created_at);
CREATE INDEX withdrawals_status ON withdrawals (status, id);
