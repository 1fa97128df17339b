-- Voice messages: the record of each clip; the clip itself is an Ogg/Opus file
-- in the data folder (voice/<id>.ogg), written before its row.
CREATE TABLE voice_clips (
    id          {{key}} PRIMARY KEY,                -- ULID: the file's name; sorts by time
    owner_id    {{key}} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    duration_ms BIGINT NOT NULL CHECK (duration_ms > 0),
    bytes       BIGINT NOT NULL CHECK (bytes > 0),
    scope_kind  TEXT NOT NULL CHECK (scope_kind IN ('room', 'dm')),
    scope_id    {{key}} NOT NULL,                   -- the room, or the other user of a conversation
    created_at  BIGINT NOT NULL
);
CREATE INDEX voice_clips_owner ON voice_clips (owner_id, id);
