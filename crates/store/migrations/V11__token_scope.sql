-- What X granted each account's tokens: an account connected before chirp asked for
-- media.write cannot upload media, and says so ("reconnect to post media") instead of failing
-- its posts at X. NULL: not known (connected before this was kept).
ALTER TABLE x_accounts ADD COLUMN scope TEXT;
