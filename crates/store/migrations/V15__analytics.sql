-- How posts did: one row per post and read, so the history stays (the seed's future
-- `post_analytics`). Public numbers always; private ones only while X shows them (30 days).
CREATE TABLE post_analytics (
    id             BIGSERIAL PRIMARY KEY,
    post_id        INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    fetched_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    impressions    BIGINT NOT NULL,
    likes          BIGINT NOT NULL,
    reposts        BIGINT NOT NULL,
    replies        BIGINT NOT NULL,
    quotes         BIGINT NOT NULL,
    bookmarks      BIGINT NOT NULL,
    url_clicks     BIGINT,
    profile_clicks BIGINT,
    -- X's non_public_metrics and organic_metrics as it sent them.
    private        JSONB
);
CREATE INDEX idx_post_analytics_post ON post_analytics (post_id, fetched_at DESC);
CREATE INDEX idx_post_analytics_fetched ON post_analytics (fetched_at);

-- When the post's metrics are next read (1 h, 24 h and 7 days after it went out), and when
-- X said it no longer has the post (deleted on X, not by chirp).
ALTER TABLE posts
    ADD COLUMN metrics_due_at TIMESTAMPTZ,
    ADD COLUMN gone_from_x_at TIMESTAMPTZ;
CREATE INDEX idx_posts_metrics_due ON posts (metrics_due_at) WHERE metrics_due_at IS NOT NULL;

-- Every way a post becomes posted with an id schedules its first read: no code path can
-- forget it.
CREATE FUNCTION schedule_first_metrics_read() RETURNS TRIGGER AS $$
BEGIN
    IF NEW.status = 'posted' AND NEW.x_tweet_id IS NOT NULL
       AND (OLD.status IS DISTINCT FROM 'posted' OR OLD.x_tweet_id IS NULL) THEN
        NEW.metrics_due_at := coalesce(NEW.posted_at, now()) + interval '1 hour';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER posts_first_metrics_read BEFORE UPDATE ON posts
    FOR EACH ROW EXECUTE FUNCTION schedule_first_metrics_read();

-- Posts already out and recent get one read soon; older ones are read on demand.
UPDATE posts SET metrics_due_at = now()
WHERE status = 'posted' AND x_tweet_id IS NOT NULL AND x_deleted_at IS NULL
  AND posted_at > now() - interval '7 days';

-- X answered 402: the account is out of credits. Its posts wait (they are not failed) until
-- the user tops up and resumes it.
ALTER TABLE x_accounts
    ADD COLUMN out_of_credits_at     TIMESTAMPTZ,
    ADD COLUMN out_of_credits_reason TEXT;

-- Reading metrics moves metrics_due_at on many posts at once: not news to every listener
-- post by post. The collector announces each batch once instead (op 'metrics').
CREATE OR REPLACE FUNCTION chirp_post_notify() RETURNS TRIGGER AS $$
DECLARE
    r RECORD;
    was posts;
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.claim_expires_at IS DISTINCT FROM OLD.claim_expires_at
                             OR NEW.metrics_due_at IS DISTINCT FROM OLD.metrics_due_at
                             OR NEW.gone_from_x_at IS DISTINCT FROM OLD.gone_from_x_at) THEN
        was := NEW;
        was.claim_expires_at := OLD.claim_expires_at;
        was.metrics_due_at := OLD.metrics_due_at;
        was.gone_from_x_at := OLD.gone_from_x_at;
        was.updated_at := OLD.updated_at;
        IF was IS NOT DISTINCT FROM OLD THEN
            RETURN NULL;
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    PERFORM pg_notify('chirp_posts', json_build_object(
        'op', lower(TG_OP), 'id', r.id, 'status', r.status, 'account', r.x_account_id)::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
