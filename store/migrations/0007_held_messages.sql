-- Chat messages the word filter held for a moderator: approved ones are
-- published to the room, rejected ones are not; both are kept for the record.
CREATE TABLE held_messages (
    id         {{key}} PRIMARY KEY,                 -- ULID: sorts by time
    room_id    {{key}} NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id    {{key}} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_name  TEXT NOT NULL,
    kind       TEXT NOT NULL,                       -- chat or danmaku
    body       TEXT NOT NULL,                       -- the message body, JSON
    status     TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by {{key}} NOT NULL DEFAULT '',
    decided_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX held_messages_room ON held_messages (room_id, status, id);
