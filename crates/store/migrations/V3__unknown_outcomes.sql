-- Unknown outcomes (a send with no answer, a publisher that died sending): exact
-- reconciliation and an audit trail that shows what was sent.

-- An X id belongs to one post. Reconciliation once could give a second post the id of the
-- first (URL-blind matching); such later rows lose the id they never had, with a note, so
-- that the rule can hold from now on.
UPDATE posts p
SET x_tweet_id = NULL,
    error_message = 'chirp once recorded X post ' || p.x_tweet_id
        || ' for this post too, but it belongs to post ' || first.id
        || ': check the account on X to see whether this one went out'
FROM (SELECT x_tweet_id, min(id) AS id FROM posts WHERE x_tweet_id IS NOT NULL
      GROUP BY x_tweet_id HAVING count(*) > 1) first
WHERE p.x_tweet_id = first.x_tweet_id AND p.id <> first.id;
CREATE UNIQUE INDEX idx_posts_x_tweet_id_unique ON posts (x_tweet_id) WHERE x_tweet_id IS NOT NULL;

-- The text of the send whose outcome is unknown: what reconciliation looks for on X, even if
-- the row's text was changed by plain SQL meanwhile (the app refuses to change it).
ALTER TABLE posts ADD COLUMN sent_content TEXT;

-- Text changes are audited too: the old text is kept in the event.
ALTER TABLE post_events DROP CONSTRAINT post_events_event_check;
ALTER TABLE post_events ADD CONSTRAINT post_events_event_check
    CHECK (event IN ('created', 'status', 'deleted', 'edited'));

CREATE OR REPLACE FUNCTION chirp_post_audit() RETURNS TRIGGER AS $$
DECLARE
    who  TEXT := coalesce(nullif(current_setting('chirp.actor', true), ''), 'sql:' || current_user);
    why  TEXT := nullif(current_setting('chirp.detail', true), '');
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO post_events (post_id, event, from_status, to_status, actor, detail, attempt)
        VALUES (NEW.id, 'created', NULL, NEW.status, who, why, NEW.attempts);
    ELSIF TG_OP = 'UPDATE' THEN
        IF NEW.content IS DISTINCT FROM OLD.content THEN
            INSERT INTO post_events (post_id, event, from_status, to_status, actor, detail, attempt)
            VALUES (NEW.id, 'edited', OLD.status, NEW.status, who,
                    'was: ' || OLD.content, NEW.attempts);
        END IF;
        IF NEW.status IS DISTINCT FROM OLD.status THEN
            INSERT INTO post_events (post_id, event, from_status, to_status, actor, detail, attempt)
            VALUES (NEW.id, 'status', OLD.status, NEW.status, who,
                    coalesce(why, CASE
                        WHEN NEW.status = 'posted' AND NEW.x_tweet_id IS NOT NULL
                            THEN 'x_tweet_id ' || NEW.x_tweet_id
                        WHEN NEW.status IN ('failed', 'scheduled', 'posted') THEN NEW.error_message
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
