-- Unpublishing: every part of a post deleted on X, last part first. When each part was
-- deleted is kept (the first part's on the post), and when the whole post was.
ALTER TABLE posts
    ADD COLUMN x_deleted_at   TIMESTAMPTZ,
    ADD COLUMN unpublished_at TIMESTAMPTZ;
ALTER TABLE post_parts ADD COLUMN x_deleted_at TIMESTAMPTZ;

ALTER TABLE post_events DROP CONSTRAINT post_events_event_check;
ALTER TABLE post_events ADD CONSTRAINT post_events_event_check
    CHECK (event IN ('created', 'status', 'deleted', 'edited', 'part', 'unpublished'));
