-- Room moderation: moderators a streamer appoints, room bans and timeouts, and
-- the audit log of every moderation action.

CREATE TABLE room_moderators (
    room_id    {{key}} NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id    {{key}} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

-- A timeout is a ban with an end; until_ms = 0 lasts until lifted.
CREATE TABLE room_bans (
    room_id    {{key}} NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id    {{key}} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    until_ms   BIGINT NOT NULL CHECK (until_ms >= 0),
    reason     TEXT NOT NULL,
    by_id      {{key}} NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

CREATE TABLE audit_log (
    id        {{key}} PRIMARY KEY,          -- ULID: sorts by time
    at        BIGINT NOT NULL,
    actor_id  {{key}} NOT NULL,
    action    TEXT NOT NULL,
    room_id   TEXT NOT NULL DEFAULT '',
    target_id TEXT NOT NULL DEFAULT '',
    reason    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
