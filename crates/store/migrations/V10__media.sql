-- Media stored with the post, not as a path: the user's file may move or go, and the
-- publisher may run on another host. A file is stored once (by its SHA-256) in chunks, so that
-- nobody ever holds a whole video in memory; parts refer to it with their own alt text.
CREATE TABLE media (
    id          SERIAL PRIMARY KEY,
    sha256      BYTEA NOT NULL,
    media_type  TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('image', 'gif', 'video')),
    size_bytes  BIGINT NOT NULL CHECK (size_bytes > 0),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE UNIQUE INDEX media_sha256 ON media (sha256);

CREATE TABLE media_chunks (
    media_id  INTEGER NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL CHECK (seq >= 0),
    data      BYTEA NOT NULL,
    PRIMARY KEY (media_id, seq)
);

-- A part's attachments, in order (position 1 is the post's own text). The upload X holds for
-- it is remembered (id and expiry), so a retry reuses it while X does.
CREATE TABLE part_media (
    post_id             INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    position            INTEGER NOT NULL CHECK (position >= 1),
    ord                 INTEGER NOT NULL CHECK (ord >= 1),
    media_id            INTEGER NOT NULL REFERENCES media (id),
    alt_text            TEXT CHECK (char_length(alt_text) <= 1000),
    x_media_id          VARCHAR(255),
    x_media_expires_at  TIMESTAMPTZ,
    PRIMARY KEY (post_id, position, ord)
);
CREATE INDEX idx_part_media_media_id ON part_media (media_id);

-- A file no part uses any more goes (deleting a post, or an attachment, frees its bytes).
CREATE OR REPLACE FUNCTION chirp_media_gc() RETURNS TRIGGER AS $$
BEGIN
    DELETE FROM media m
    WHERE m.id IN (SELECT media_id FROM gone)
      AND NOT EXISTS (SELECT 1 FROM part_media pm WHERE pm.media_id = m.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER part_media_gc AFTER DELETE ON part_media
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION chirp_media_gc();
