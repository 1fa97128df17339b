-- Restream targets: where a room's live stream is pushed over RTMP(S) while it
-- is live (package media/egress). The stream key is kept as given, since the
-- server presents it to the target; the API shows only its last characters.
CREATE TABLE restream_targets (
    id         {{key}} PRIMARY KEY,                  -- ULID: sorts by time
    room_id    {{key}} NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    name       TEXT NOT NULL DEFAULT '',
    url        TEXT NOT NULL CHECK (url LIKE 'rtmp://%' OR url LIKE 'rtmps://%'),
    stream_key TEXT NOT NULL CHECK (stream_key <> ''),
    enabled    BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX restream_targets_room ON restream_targets (room_id, id);
