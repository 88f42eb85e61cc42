-- A post is a thread of one. Every part, the first included, is a row of `post_parts` with
-- the same shape: its text, its id on the post's network once sent (`remote_id`: an X post
-- id, a Mastodon status id, a Bluesky record URI), when it went out and when it was deleted
-- there. chirp reads and writes parts here only, and sends any post part by part.
--
-- The seed's `posts` columns keep meaning the first part for plain-SQL users: triggers keep
-- `posts.content` and part 1's text one fact, and on X accounts `posts.x_tweet_id`,
-- `posted_at` and `x_deleted_at` too, whichever side a statement writes. A post on another
-- network leaves `x_tweet_id` empty (its id is not X's).
ALTER TABLE post_parts DROP CONSTRAINT post_parts_position_check;
ALTER TABLE post_parts ADD CONSTRAINT post_parts_position_check CHECK (position >= 1);
ALTER TABLE post_parts RENAME COLUMN x_tweet_id TO remote_id;
ALTER TABLE post_parts RENAME COLUMN x_deleted_at TO remote_deleted_at;
ALTER INDEX idx_post_parts_x_tweet_id RENAME TO idx_post_parts_remote_id;

-- The same for a part's uploads: the network's media id, whichever network holds it.
ALTER TABLE part_media RENAME COLUMN x_media_id TO remote_media_id;
ALTER TABLE part_media RENAME COLUMN x_media_expires_at TO remote_media_expires_at;

INSERT INTO post_parts (post_id, position, content, remote_id, posted_at, remote_deleted_at,
                        created_at)
SELECT id, 1, content, x_tweet_id, CASE WHEN x_tweet_id IS NOT NULL THEN posted_at END,
       x_deleted_at, created_at
FROM posts;

-- posts → part 1: a new post gets its first part; a changed first part follows.
CREATE FUNCTION chirp_posts_first_part() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
DECLARE
    on_x BOOLEAN := (SELECT network = 'x' FROM x_accounts WHERE id = NEW.x_account_id);
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO post_parts (post_id, position, content, remote_id, posted_at,
                                remote_deleted_at)
        VALUES (NEW.id, 1, NEW.content, NEW.x_tweet_id,
                CASE WHEN NEW.x_tweet_id IS NOT NULL THEN NEW.posted_at END, NEW.x_deleted_at);
        RETURN NULL;
    END IF;
    UPDATE post_parts pp
    SET content = NEW.content,
        remote_id = CASE WHEN on_x THEN NEW.x_tweet_id ELSE pp.remote_id END,
        posted_at = CASE WHEN on_x AND NEW.x_tweet_id IS NOT NULL
                         THEN coalesce(NEW.posted_at, pp.posted_at) ELSE pp.posted_at END,
        remote_deleted_at = CASE WHEN on_x THEN NEW.x_deleted_at ELSE pp.remote_deleted_at END
    WHERE pp.post_id = NEW.id AND pp.position = 1
      AND (pp.content IS DISTINCT FROM NEW.content
           OR (on_x AND (pp.remote_id IS DISTINCT FROM NEW.x_tweet_id
                         OR pp.remote_deleted_at IS DISTINCT FROM NEW.x_deleted_at
                         OR (NEW.x_tweet_id IS NOT NULL AND NEW.posted_at IS NOT NULL
                             AND pp.posted_at IS DISTINCT FROM NEW.posted_at))));
    RETURN NULL;
END $$;
CREATE TRIGGER posts_first_part AFTER INSERT OR UPDATE OF content, x_tweet_id, posted_at,
    x_deleted_at ON posts FOR EACH ROW EXECUTE FUNCTION chirp_posts_first_part();

-- part 1 → posts: what chirp writes to the first part, plain SQL reads on the post.
CREATE FUNCTION chirp_first_part_posts() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
    IF NEW.position <> 1 THEN
        RETURN NULL;
    END IF;
    UPDATE posts p
    SET content = NEW.content,
        x_tweet_id = CASE WHEN a.network = 'x' THEN NEW.remote_id ELSE p.x_tweet_id END,
        posted_at = CASE WHEN NEW.posted_at IS NOT NULL THEN NEW.posted_at ELSE p.posted_at END,
        x_deleted_at = CASE WHEN a.network = 'x' THEN NEW.remote_deleted_at
                            ELSE p.x_deleted_at END
    FROM x_accounts a
    WHERE p.id = NEW.post_id AND a.id = p.x_account_id
      AND (p.content IS DISTINCT FROM NEW.content
           OR (NEW.posted_at IS NOT NULL AND p.posted_at IS DISTINCT FROM NEW.posted_at)
           OR (a.network = 'x' AND (p.x_tweet_id IS DISTINCT FROM NEW.remote_id
                                    OR p.x_deleted_at IS DISTINCT FROM NEW.remote_deleted_at)));
    RETURN NULL;
END $$;
CREATE TRIGGER post_parts_first_to_posts AFTER INSERT OR UPDATE ON post_parts
    FOR EACH ROW EXECUTE FUNCTION chirp_first_part_posts();

-- A post always has its first part: it goes only with the post itself.
CREATE FUNCTION chirp_keep_first_part() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
    IF OLD.position = 1 AND EXISTS (SELECT 1 FROM posts WHERE id = OLD.post_id) THEN
        RAISE EXCEPTION 'part 1 of post % goes only with the post', OLD.post_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER post_parts_keep_first BEFORE DELETE ON post_parts
    FOR EACH ROW EXECUTE FUNCTION chirp_keep_first_part();
