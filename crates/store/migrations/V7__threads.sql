-- Threads. A post is a chain of parts, sent in order, each a reply to the one before. The
-- `posts` row stays the unit that is drafted, scheduled, claimed and audited, and its seed
-- columns keep their meaning for the first part (content, x_tweet_id, posted_at). Parts 2..n
-- live here; a single post simply has none.
CREATE TABLE post_parts (
    post_id     INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL CHECK (position >= 2),
    content     TEXT NOT NULL CHECK (char_length(content) <= 100000),
    -- Set the moment X confirmed this part (before the next part is sent).
    x_tweet_id  VARCHAR(255),
    posted_at   TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (post_id, position)
);
-- An X id belongs to one part of one post.
CREATE UNIQUE INDEX idx_post_parts_x_tweet_id ON post_parts (x_tweet_id) WHERE x_tweet_id IS NOT NULL;

-- Each part that reaches X is audited as it happens ("part 2/5 sent as …").
ALTER TABLE post_events DROP CONSTRAINT post_events_event_check;
ALTER TABLE post_events ADD CONSTRAINT post_events_event_check
    CHECK (event IN ('created', 'status', 'deleted', 'edited', 'part'));
