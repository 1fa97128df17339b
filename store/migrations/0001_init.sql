-- onair system of record, first schema.
-- Written once for SQLite and PostgreSQL; {{key}} and {{bytes}} are the column
-- types that differ (see dialect.go). Times are BIGINT Unix milliseconds, UTC.

CREATE TABLE users (
    id                 {{key}} PRIMARY KEY,                -- ULID
    name               TEXT NOT NULL,                      -- as the user typed it
    name_key           {{key}} NOT NULL UNIQUE,            -- lower(name) in Go: case-insensitive uniqueness
    display_name       TEXT NOT NULL DEFAULT '',
    role               TEXT NOT NULL CHECK (role IN ('viewer', 'streamer', 'admin', 'superadmin')),
    password_hash      TEXT NOT NULL DEFAULT '',
    banned             BOOLEAN NOT NULL DEFAULT FALSE,
    ban_reason         TEXT NOT NULL DEFAULT '',
    verified           BOOLEAN NOT NULL DEFAULT FALSE,
    level              INTEGER NOT NULL DEFAULT 0 CHECK (level >= 0),
    tokens_valid_after BIGINT NOT NULL DEFAULT 0,          -- tokens issued before are void; 0 = none
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

-- At most one stream key per user; the store keeps only its hash.
CREATE TABLE stream_keys (
    user_id    {{key}} PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    key_hash   {{bytes}} NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- Session tokens revoked before they expire; purged once expired.
CREATE TABLE revoked_tokens (
    jti        {{key}} PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);

-- A streamer's room; its id is the owner's name.
CREATE TABLE rooms (
    id         {{key}} PRIMARY KEY,
    owner_id   {{key}} NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    title      TEXT NOT NULL DEFAULT '',
    cover_url  TEXT NOT NULL DEFAULT '',
    category   TEXT NOT NULL DEFAULT '',
    private    BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at BIGINT NOT NULL
);

CREATE TABLE broadcasts (
    id            {{key}} PRIMARY KEY,                     -- ULID with the start time
    room_id       {{key}} NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    started_at    BIGINT NOT NULL,
    ended_at      BIGINT,                                  -- NULL while live
    peak_viewers  INTEGER NOT NULL DEFAULT 0 CHECK (peak_viewers >= 0),
    total_viewers INTEGER NOT NULL DEFAULT 0 CHECK (total_viewers >= 0)
);
CREATE INDEX broadcasts_room_started ON broadcasts (room_id, started_at DESC, id DESC);
-- At most one live broadcast per room.
CREATE UNIQUE INDEX broadcasts_one_live ON broadcasts (room_id) WHERE ended_at IS NULL;

CREATE TABLE follows (
    follower_id {{key}} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id {{key}} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id          {{key}} NOT NULL,                          -- ULID of the follow: the page cursor
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
);
CREATE INDEX follows_followee_id ON follows (followee_id, id);
CREATE INDEX follows_follower_id ON follows (follower_id, id);

-- One row (id = 1) once an admin saved settings; defaults live in Go.
CREATE TABLE settings (
    id                          INTEGER PRIMARY KEY CHECK (id = 1),
    broadcast_requires_verified BOOLEAN NOT NULL,
    broadcast_min_level         INTEGER NOT NULL CHECK (broadcast_min_level >= 0),
    updated_at                  BIGINT NOT NULL
);
