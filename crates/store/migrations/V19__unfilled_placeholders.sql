-- A post made from a template remembers the placeholders the template left for the person to
-- fill (`{version}`). While any part's text still holds one, the post cannot be scheduled,
-- queued or published, whoever asks: the TUI, the command line, an import or plain SQL. The
-- check runs at commit (a deferred constraint trigger), when every part of the post is there.
ALTER TABLE posts ADD COLUMN unfilled TEXT[] NOT NULL DEFAULT '{}';

CREATE FUNCTION chirp_refuse_unfilled() RETURNS trigger AS $$
DECLARE
    target INTEGER;
    left_over TEXT;
BEGIN
    IF TG_TABLE_NAME = 'posts' THEN
        target := NEW.id;
    ELSE
        target := NEW.post_id;
    END IF;
    SELECT string_agg(DISTINCT '{' || u.name || '}', ', ') INTO left_over
    FROM posts p
    CROSS JOIN LATERAL unnest(p.unfilled) AS u(name)
    WHERE p.id = target
      AND p.status IN ('scheduled', 'publishing')
      AND (position('{' || u.name || '}' IN p.content) > 0
           OR EXISTS (SELECT 1 FROM post_parts pp
                      WHERE pp.post_id = p.id
                        AND position('{' || u.name || '}' IN pp.content) > 0));
    IF left_over IS NOT NULL THEN
        RAISE EXCEPTION 'post %: fill in % first (the template left it to you)', target, left_over
            USING ERRCODE = 'CH001';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER posts_refuse_unfilled
    AFTER INSERT OR UPDATE ON posts
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (cardinality(NEW.unfilled) > 0)
    EXECUTE FUNCTION chirp_refuse_unfilled();

-- Only a change of text: the publisher's writes (a part's id on the network) do not pay for it.
CREATE CONSTRAINT TRIGGER post_parts_refuse_unfilled
    AFTER INSERT OR UPDATE OF content ON post_parts
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    EXECUTE FUNCTION chirp_refuse_unfilled();
