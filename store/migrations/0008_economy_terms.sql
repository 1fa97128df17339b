-- The economy's terms and gift catalog. The ledger itself is 0006.

-- One row (id = 1) once an admin saved the terms, as a JSON document
-- (economy/settings); defaults live in Go.
CREATE TABLE economy_settings (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    doc        TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A streamer's own commission, instead of the platform's.
CREATE TABLE streamer_terms (
    user_id            {{key}} PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    commission_percent INTEGER NOT NULL CHECK (commission_percent BETWEEN 0 AND 100),
    updated_at         BIGINT NOT NULL
);

CREATE TABLE gifts (
    id          {{key}} PRIMARY KEY,                   -- a-z0-9_- chosen by the admin
    name        TEXT NOT NULL,
    price_coins BIGINT NOT NULL CHECK (price_coins > 0),
    icon        TEXT NOT NULL DEFAULT '',              -- an emoji or a /static/ path
    effect      TEXT NOT NULL CHECK (effect IN ('banner', 'fullscreen')),
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    sort_order  INTEGER NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL
);

-- The catalog a new platform starts with.
INSERT INTO gifts (id, name, price_coins, icon, effect, enabled, sort_order, updated_at) VALUES
    ('heart',   'Heart',    1,    '❤️', 'banner',     TRUE, 10, 0),
    ('rose',    'Rose',     10,   '🌹', 'banner',     TRUE, 20, 0),
    ('cake',    'Cake',     100,  '🎂', 'banner',     TRUE, 30, 0),
    ('rocket',  'Rocket',   1000, '🚀', 'fullscreen', TRUE, 40, 0),
    ('castle',  'Castle',   5000, '🏰', 'fullscreen', TRUE, 50, 0);
