-- How long the account's access tokens live, as X said when it issued the last one: tokens
-- are refreshed a fraction of that before they expire (at most two minutes), not a fixed two
-- minutes that would refresh short-lived tokens on every send.
ALTER TABLE x_accounts ADD COLUMN token_lifetime_secs INTEGER CHECK (token_lifetime_secs > 0);
