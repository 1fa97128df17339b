-- Reports of a message or a room, queued for admins.
CREATE TABLE reports (
    id          {{key}} PRIMARY KEY,                 -- ULID: sorts by time
    at          BIGINT NOT NULL,
    reporter_id {{key}} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    room_id     {{key}} NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    message_id  TEXT NOT NULL DEFAULT '',              -- empty: the room itself
    reason      TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved')),
    resolved_by TEXT NOT NULL DEFAULT '',
    resolved_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX reports_state ON reports (state, id);
