-- What publishing needs on top of the seed.

-- Content: X counts weighted characters (URLs 23, CJK/emoji 2), which the app enforces with
-- twitter-text before every write and publish. char_length <= 280 would refuse posts X accepts
-- (a long URL), so the database keeps only a sanity bound that no valid post can reach
-- (at most ~12 URLs of < 4096 characters fit in 280 weighted characters).
ALTER TABLE posts DROP CONSTRAINT posts_content_length;
ALTER TABLE posts ADD CONSTRAINT posts_content_sane CHECK (char_length(content) <= 100000);

-- 'publishing': a publisher holds a lease and a request to X may be in flight.
ALTER TABLE posts DROP CONSTRAINT posts_status_check;
ALTER TABLE posts ADD CONSTRAINT posts_status_check
    CHECK (status IN ('draft', 'scheduled', 'publishing', 'posted', 'failed'));

ALTER TABLE posts
    ADD COLUMN attempts            INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    ADD COLUMN next_attempt_at     TIMESTAMPTZ,
    ADD COLUMN claimed_by          TEXT,
    ADD COLUMN claim_expires_at    TIMESTAMPTZ,
    -- When the current (or last) attempt began: reconciliation looks for the post on X's
    -- timeline from this moment on.
    ADD COLUMN attempt_started_at  TIMESTAMPTZ,
    -- Set when the outcome of a send is unknown (timeout, 5xx, lost lease): the next attempt
    -- must reconcile before it may send again.
    ADD COLUMN needs_reconcile     BOOLEAN NOT NULL DEFAULT false,
    ADD CONSTRAINT posts_posted_has_id CHECK (status <> 'posted' OR x_tweet_id IS NOT NULL OR posted_at IS NOT NULL),
    ADD CONSTRAINT posts_publishing_has_lease
        CHECK (status <> 'publishing' OR (claimed_by IS NOT NULL AND claim_expires_at IS NOT NULL));

-- Lists are read newest first, page by page (keyset on id).
CREATE INDEX idx_posts_status_id ON posts (status, id DESC);
-- The TUI's Scheduled pane: soonest first, page by page.
CREATE INDEX idx_posts_due_order ON posts ((coalesce(scheduled_at, '-infinity'::timestamptz)), id)
    WHERE status IN ('scheduled', 'publishing');
-- The rescuer looks for expired leases.
CREATE INDEX idx_posts_claim_expires_at ON posts (claim_expires_at) WHERE status = 'publishing';

ALTER TABLE x_accounts
    -- X refused the refresh token: the user must connect again; posts wait, they do not fail.
    ADD COLUMN needs_reconnect     BOOLEAN NOT NULL DEFAULT false,
    -- A 429 holds back every post of the account until X's window resets.
    ADD COLUMN rate_limited_until  TIMESTAMPTZ;

-- Audit log: every status change, creation and deletion of a post, whoever made it (the app,
-- a publisher, or plain SQL). The app says who and why through the transaction-local settings
-- chirp.actor and chirp.detail; plain SQL is recorded as the database user.
CREATE TABLE post_events (
    id           BIGSERIAL PRIMARY KEY,
    post_id      INTEGER NOT NULL,
    event        TEXT NOT NULL CHECK (event IN ('created', 'status', 'deleted')),
    from_status  VARCHAR(20),
    to_status    VARCHAR(20),
    actor        TEXT NOT NULL,
    detail       TEXT,
    attempt      INTEGER,
    at           TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX idx_post_events_post_id ON post_events (post_id, id);

CREATE OR REPLACE FUNCTION chirp_post_audit() RETURNS TRIGGER AS $$
DECLARE
    who  TEXT := coalesce(nullif(current_setting('chirp.actor', true), ''), 'sql:' || current_user);
    why  TEXT := nullif(current_setting('chirp.detail', true), '');
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO post_events (post_id, event, from_status, to_status, actor, detail, attempt)
        VALUES (NEW.id, 'created', NULL, NEW.status, who, why, NEW.attempts);
    ELSIF TG_OP = 'UPDATE' THEN
        IF NEW.status IS DISTINCT FROM OLD.status THEN
            INSERT INTO post_events (post_id, event, from_status, to_status, actor, detail, attempt)
            VALUES (NEW.id, 'status', OLD.status, NEW.status, who,
                    coalesce(why, CASE
                        WHEN NEW.status = 'posted' AND NEW.x_tweet_id IS NOT NULL
                            THEN 'x_tweet_id ' || NEW.x_tweet_id
                        WHEN NEW.status IN ('failed', 'scheduled') THEN NEW.error_message
                    END),
                    NEW.attempts);
        END IF;
    ELSE
        INSERT INTO post_events (post_id, event, from_status, to_status, actor, detail, attempt)
        VALUES (OLD.id, 'deleted', OLD.status, NULL, who, why, OLD.attempts);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER posts_audit AFTER INSERT OR UPDATE OR DELETE ON posts
    FOR EACH ROW EXECUTE FUNCTION chirp_post_audit();

-- Wake-ups: listeners (publishers, TUIs) LISTEN chirp_posts. Fired for every row change,
-- including rows written with plain SQL, and delivered at commit.
CREATE OR REPLACE FUNCTION chirp_post_notify() RETURNS TRIGGER AS $$
DECLARE
    r RECORD;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    PERFORM pg_notify('chirp_posts', json_build_object(
        'op', lower(TG_OP), 'id', r.id, 'status', r.status, 'account', r.x_account_id)::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER posts_notify AFTER INSERT OR UPDATE OR DELETE ON posts
    FOR EACH ROW EXECUTE FUNCTION chirp_post_notify();
