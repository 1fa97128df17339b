-- Red packets (economy/redpacket): a user drops N coins in a room, split at
-- creation into K random shares; the first K distinct users to grab win them in
-- share order; what nobody grabbed goes back to the sender when the packet
-- expires. The coins themselves move in the ledger (0006): sender → escrow at
-- creation, escrow → grabber per share, escrow → sender for the refund, each
-- under an idempotency key derived from these rows, so that every step can be
-- finished again after a crash without moving anything twice.
--
-- No FOREIGN KEY to users or rooms: like the ledger, these rows are money
-- records that outlive what they name.

-- status: pending  written, the ledger's create transaction not known to be committed
--         open     committed; grabbable while now < expires_at and claimed < shares
--         ended    no more grabs (all claimed, or expired); grabs to pay and a refund to post
--         done     every claimed share paid, the rest refunded
--         canceled the ledger refused the create (not enough coins); nothing moved
CREATE TABLE red_packets (
    id          {{key}} PRIMARY KEY,                    -- ULID
    create_key  {{key}} NOT NULL UNIQUE,                -- the create's ledger key: redpacket:create:<user>:<client key>
    room_id     {{key}} NOT NULL,
    sender_id   {{key}} NOT NULL,
    sender_name TEXT NOT NULL,
    coins       BIGINT NOT NULL CHECK (coins > 0),
    shares      INTEGER NOT NULL CHECK (shares > 0 AND shares <= coins),
    claimed     INTEGER NOT NULL DEFAULT 0 CHECK (claimed >= 0 AND claimed <= shares),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'open', 'ended', 'done', 'canceled')),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    attempt_at  BIGINT NOT NULL,                        -- when a post of the create last started
    create_txn  {{key}},                                -- the ledger transaction, once committed
    ended_at    BIGINT,
    refunded    BIGINT NOT NULL DEFAULT 0 CHECK (refunded >= 0),
    refund_txn  {{key}}
);
-- A room's open packets; the sweeper's work (pending, open past expiry, ended).
CREATE INDEX red_packets_room ON red_packets (room_id, status);
CREATE INDEX red_packets_status ON red_packets (status, expires_at);

-- The split, fixed at creation: share idx (0 .. shares-1) holds coins.
CREATE TABLE red_packet_shares (
    packet_id {{key}} NOT NULL REFERENCES red_packets (id) ON DELETE CASCADE,
    idx       INTEGER NOT NULL CHECK (idx >= 0),
    coins     BIGINT NOT NULL CHECK (coins > 0),
    PRIMARY KEY (packet_id, idx)
);

-- A claimed share: one per share, one per user and packet.
CREATE TABLE red_packet_grabs (
    packet_id  {{key}} NOT NULL,
    share_idx  INTEGER NOT NULL,
    user_id    {{key}} NOT NULL,
    user_name  TEXT NOT NULL,
    grabbed_at BIGINT NOT NULL,
    paid_txn   {{key}},                                 -- the ledger transaction that paid it
    PRIMARY KEY (packet_id, share_idx),
    UNIQUE (packet_id, user_id),
    FOREIGN KEY (packet_id, share_idx) REFERENCES red_packet_shares (packet_id, idx)
);
CREATE INDEX red_packet_grabs_unpaid ON red_packet_grabs (grabbed_at) WHERE paid_txn IS NULL;
