-- An account knows its network (X now; Mastodon and Bluesky next).
--
-- One accounts table for every network, the seed's `x_accounts`, rather than a table per
-- network as the seed sketched (`linkedin_accounts`, …): posts, queues, templates, analytics
-- and the publisher's claim all refer to "an account" whatever its network, so one table keeps
-- one foreign key (`posts.x_account_id`, which the seed's statements use), one claim and, for
-- teams, one set of row-level policies. What differs per network is in columns that say what
-- they hold; X's own columns (`x_user_id`, `x_username`) keep meaning X's and are empty on
-- other networks' rows.
ALTER TABLE x_accounts
    ADD COLUMN network TEXT NOT NULL DEFAULT 'x'
        CHECK (network IN ('x', 'mastodon', 'bluesky')),
    -- Where the account lives when that varies: a Mastodon instance, a Bluesky PDS (its base
    -- URL). NULL on X, which is one service.
    ADD COLUMN server_url TEXT,
    -- Its id there: X's user id, a Mastodon account id, a Bluesky DID ('' until connected).
    ADD COLUMN remote_user_id TEXT NOT NULL DEFAULT '',
    -- Its handle in the network's own form: `@name` (X), `@name@instance` (Mastodon),
    -- `name.bsky.social` (Bluesky); '' until connected.
    ADD COLUMN handle TEXT NOT NULL DEFAULT '';

UPDATE x_accounts
SET remote_user_id = x_user_id,
    handle = CASE WHEN x_username = '' THEN '' ELSE '@' || x_username END;

ALTER TABLE x_accounts
    ADD CONSTRAINT x_accounts_server_by_network CHECK ((network = 'x') = (server_url IS NULL)),
    ADD CONSTRAINT x_accounts_x_columns_are_xs
        CHECK (network = 'x' OR (x_user_id = '' AND x_username = ''));

-- A network's account is connected to a user once.
CREATE UNIQUE INDEX x_accounts_user_remote_user
    ON x_accounts (user_id, network, coalesce(server_url, ''), remote_user_id)
    WHERE remote_user_id <> '';

-- On X rows the seed's columns and the network's columns are one fact: whichever a statement
-- writes (chirp writes `remote_user_id`/`handle`; plain SQL written to the seed writes
-- `x_user_id`/`x_username`), the other follows, so both always agree.
CREATE FUNCTION x_accounts_network_columns() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
    IF NEW.network <> 'x' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.remote_user_id = '' THEN
            NEW.remote_user_id := NEW.x_user_id;
        END IF;
        IF NEW.handle = '' AND NEW.x_username <> '' THEN
            NEW.handle := '@' || NEW.x_username;
        END IF;
    ELSE
        IF NEW.x_user_id IS DISTINCT FROM OLD.x_user_id
           AND NEW.remote_user_id IS NOT DISTINCT FROM OLD.remote_user_id THEN
            NEW.remote_user_id := NEW.x_user_id;
        END IF;
        IF NEW.x_username IS DISTINCT FROM OLD.x_username
           AND NEW.handle IS NOT DISTINCT FROM OLD.handle THEN
            NEW.handle := CASE WHEN NEW.x_username = '' THEN '' ELSE '@' || NEW.x_username END;
        END IF;
    END IF;
    NEW.x_user_id := NEW.remote_user_id;
    NEW.x_username := ltrim(NEW.handle, '@');
    RETURN NEW;
END $$;

CREATE TRIGGER x_accounts_network_columns BEFORE INSERT OR UPDATE ON x_accounts
    FOR EACH ROW EXECUTE FUNCTION x_accounts_network_columns();
