-- The double-entry ledger of the coin economy (package economy; written by
-- economy/sqlstore). Amounts are BIGINT counts of a currency's unit, never
-- fractions. Every transaction's entries sum to zero per currency; an account's
-- balance is the sum of its entries, kept in the row so that a transfer reads one
-- row per account; `onair ledger verify` proves both on the live store.
--
-- Entries and outbox rows carry no FOREIGN KEY: they are written only by the
-- ledger's batch, in the transaction that writes their transaction row and after
-- it has created or locked their accounts, and on PostgreSQL the per-row
-- foreign-key triggers cost about 40% of a batch's writes. `ledger verify`
-- checks every reference instead.

-- user:<id>:coins, user:<id>:earnings, platform:<kind>:<currency>.
CREATE TABLE ledger_accounts (
    id             {{key}} PRIMARY KEY,
    owner          {{key}} NOT NULL,                   -- the user's id, or 'platform'
    kind           TEXT NOT NULL,                      -- user, issuance, cashin, revenue, payouts, escrow, holds
    currency       TEXT NOT NULL CHECK (currency IN ('coins', 'earnings', 'cents')),
    balance        BIGINT NOT NULL DEFAULT 0,
    allow_negative BOOLEAN NOT NULL DEFAULT FALSE,     -- sources only (issuance, cash-in)
    created_at     BIGINT NOT NULL,
    -- The last line of defence: the ledger refuses an overdraft before writing,
    -- and the database refuses one whatever wrote it.
    CHECK (allow_negative OR balance >= 0)
);
CREATE INDEX ledger_accounts_owner ON ledger_accounts (owner);

CREATE TABLE ledger_txns (
    id              {{key}} PRIMARY KEY,               -- ULID: sorts by time
    idempotency_key {{key}} NOT NULL UNIQUE,           -- a retry finds the original here
    kind            TEXT NOT NULL,                     -- gift, recharge, ...
    fingerprint     {{bytes}} NOT NULL,                -- SHA-256 of kind, postings, metadata
    created_at      BIGINT NOT NULL,
    metadata        TEXT NOT NULL DEFAULT '{}'         -- JSON object of strings
);

-- Append-only: one row per posting. The key leads with the account: it serves
-- an account's history (newest first, paged by txn_id and seq) and the lookup
-- of a replayed transaction's balances, whose accounts the retry names.
CREATE TABLE ledger_entries (
    account_id    {{key}} NOT NULL,                    -- ledger_accounts (id)
    txn_id        {{key}} NOT NULL,                    -- ledger_txns (id)
    seq           INTEGER NOT NULL,                    -- the posting's place in its transaction
    currency      TEXT NOT NULL,
    amount        BIGINT NOT NULL CHECK (amount <> 0),
    balance_after BIGINT NOT NULL,                     -- the account's balance after this entry
    PRIMARY KEY (account_id, txn_id, seq)
);

-- The event of a transaction, committed with it; the relay publishes it
-- afterwards with the transaction's id as the bus's de-duplication id.
CREATE TABLE ledger_outbox (
    txn_id       {{key}} PRIMARY KEY,                  -- ledger_txns (id); a ULID: publication order
    subject      TEXT NOT NULL,
    payload      {{bytes}} NOT NULL,
    created_at   BIGINT NOT NULL,
    published_at BIGINT                                -- NULL until published
);
CREATE INDEX ledger_outbox_pending ON ledger_outbox (txn_id) WHERE published_at IS NULL;
