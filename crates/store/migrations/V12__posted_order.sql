-- The Posted pane lists what went out (or failed) last first: by posting time, a failed post
-- by its last change. Keyset pages on this order cost the same at any depth.
CREATE INDEX idx_posts_latest ON posts ((coalesce(posted_at, updated_at)) DESC, id DESC)
    WHERE status IN ('posted', 'failed');
