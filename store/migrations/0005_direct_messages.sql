-- Private messages between two users, and who blocks whom.
CREATE TABLE direct_messages (
    id      {{key}} PRIMARY KEY,                    -- ULID: sorts by time
    from_id {{key}} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    to_id   {{key}} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body    TEXT NOT NULL,
    read_at BIGINT NOT NULL DEFAULT 0               -- 0: unread
);
CREATE INDEX direct_messages_to ON direct_messages (to_id, from_id, id);
CREATE INDEX direct_messages_from ON direct_messages (from_id, to_id, id);

CREATE TABLE blocks (
    blocker_id {{key}} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id {{key}} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
