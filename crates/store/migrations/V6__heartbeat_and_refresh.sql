-- The publisher's heartbeat extends the leases of the posts it has in flight a few times per
-- lease. That is not news to anyone listening: a change of claim_expires_at alone (with the
-- updated_at the seed's trigger sets) is not notified; every other change still is.
CREATE OR REPLACE FUNCTION chirp_post_notify() RETURNS TRIGGER AS $$
DECLARE
    r RECORD;
    was posts;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.claim_expires_at IS DISTINCT FROM OLD.claim_expires_at THEN
        was := NEW;
        was.claim_expires_at := OLD.claim_expires_at;
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

-- Token refreshes. A refresh spends the refresh token at X; its successor exists only in X's
-- answer until it is committed here. So a refresh first commits a marker (refresh_started_at),
-- then asks X, then stores the new tokens and clears the marker in one statement. A marker
-- left behind means a process died in between: if X then refuses the stored refresh token,
-- the account says exactly that, not a misleading reason.
ALTER TABLE x_accounts
    ADD COLUMN refresh_started_at     TIMESTAMPTZ,
    ADD COLUMN token_refreshed_at     TIMESTAMPTZ,
    ADD COLUMN refreshes              BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN needs_reconnect_reason TEXT;
