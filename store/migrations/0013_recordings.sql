-- Recordings of broadcasts for replay (package media/egress writes the files
-- under <data>/recordings/<broadcast id>/). A recording has the id of its
-- broadcast: a broadcast is recorded at most once.
CREATE TABLE recordings (
    id          {{key}} PRIMARY KEY REFERENCES broadcasts (id) ON DELETE CASCADE,
    room_id     {{key}} NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    started_at  BIGINT NOT NULL,
    ended_at    BIGINT,                                  -- NULL while recording
    duration_ms BIGINT NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    bytes       BIGINT NOT NULL DEFAULT 0 CHECK (bytes >= 0),
    path        TEXT NOT NULL,                           -- the playable file once ready
    status      TEXT NOT NULL CHECK (status IN ('recording', 'ready', 'failed')),
    reason      TEXT NOT NULL DEFAULT ''                 -- why it failed
);
CREATE INDEX recordings_room ON recordings (room_id, started_at DESC);
CREATE INDEX recordings_started ON recordings (started_at);

-- The streamer's choice for their room; no row means the platform default
-- (egress.record).
CREATE TABLE room_recording (
    room_id    {{key}} PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
    record     BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL
);
