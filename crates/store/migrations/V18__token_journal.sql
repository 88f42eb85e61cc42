-- Rotated tokens are never thrown away. A refresh that got the network's answer but could not
-- store it (the database restarting, the process stopped) keeps it in a private journal on its
-- host, replayed by the next chirp process there. The journal names the database its tokens
-- belong to by this id, so that they are never written into another one (a restored backup
-- gets an id of its own).
CREATE TABLE chirp_database (
    one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
    id  UUID NOT NULL DEFAULT gen_random_uuid()
);
INSERT INTO chirp_database DEFAULT VALUES;

-- Who started the refresh a marker stands for ("host:pid"): a process on the same host that
-- is gone left it behind (its journal tells what it got); one elsewhere is waited for a while
-- before anyone spends the refresh token it may have spent already.
ALTER TABLE x_accounts ADD COLUMN refresh_started_by TEXT;
