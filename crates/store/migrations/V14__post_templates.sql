-- The seed's future extension "post_templates": reusable posts, by name per user. A template
-- is shaped like a post: its first part in `content`, the others in `template_parts`, each
-- part's files in `template_media` (the same stored bytes as posts use).
CREATE TABLE post_templates (
    id          SERIAL PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        VARCHAR(100) NOT NULL,
    content     TEXT NOT NULL CHECK (char_length(content) <= 100000),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT post_templates_user_name_key UNIQUE (user_id, name)
);
CREATE TRIGGER update_post_templates_updated_at BEFORE UPDATE ON post_templates
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TABLE template_parts (
    template_id INTEGER NOT NULL REFERENCES post_templates (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL CHECK (position >= 2),
    content     TEXT NOT NULL CHECK (char_length(content) <= 100000),
    PRIMARY KEY (template_id, position)
);

CREATE TABLE template_media (
    template_id INTEGER NOT NULL REFERENCES post_templates (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL CHECK (position >= 1),
    ord         INTEGER NOT NULL CHECK (ord >= 1),
    media_id    INTEGER NOT NULL REFERENCES media (id),
    alt_text    TEXT CHECK (char_length(alt_text) <= 1000),
    PRIMARY KEY (template_id, position, ord)
);
CREATE INDEX idx_template_media_media_id ON template_media (media_id);

-- A file goes when neither a post nor a template uses it any more.
CREATE OR REPLACE FUNCTION chirp_media_gc() RETURNS TRIGGER AS $$
BEGIN
    DELETE FROM media m
    WHERE m.id IN (SELECT media_id FROM gone)
      AND NOT EXISTS (SELECT 1 FROM part_media pm WHERE pm.media_id = m.id)
      AND NOT EXISTS (SELECT 1 FROM template_media tm WHERE tm.media_id = m.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER template_media_gc AFTER DELETE ON template_media
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION chirp_media_gc();
