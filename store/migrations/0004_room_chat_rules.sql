-- Room chat rules the streamer sets: slow mode, followers only, minimum
-- account age.
ALTER TABLE rooms ADD COLUMN slow_mode_seconds INTEGER NOT NULL DEFAULT 0 CHECK (slow_mode_seconds >= 0);
ALTER TABLE rooms ADD COLUMN followers_only BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE rooms ADD COLUMN min_account_age_minutes INTEGER NOT NULL DEFAULT 0 CHECK (min_account_age_minutes >= 0);
