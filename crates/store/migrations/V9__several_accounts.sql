-- Several X accounts per user: the seed's "future extension" ("remove the unique constraint to
-- support multiple accounts per user"). A user has a default account (where posts go unless
-- told otherwise), and connects a given X account once.
ALTER TABLE x_accounts DROP CONSTRAINT x_accounts_user_id_key;
-- The unique constraint was also the index on the foreign key.
CREATE INDEX idx_x_accounts_user_id ON x_accounts (user_id);
ALTER TABLE users
    ADD COLUMN default_x_account_id INTEGER REFERENCES x_accounts (id) ON DELETE SET NULL;

-- Before, chirp made a user per connected account (a user could hold only one). Those users
-- (chirp never sets an email) become the first user, which keeps every account and post;
-- users made by other means keep theirs.
WITH keep AS (SELECT min(id) AS id FROM users)
UPDATE x_accounts a SET user_id = keep.id
FROM keep, users u
WHERE u.id = a.user_id AND u.email IS NULL AND a.user_id <> keep.id
  AND NOT EXISTS (SELECT 1 FROM x_accounts o
                  WHERE o.user_id = keep.id AND o.x_user_id = a.x_user_id AND a.x_user_id <> '');
DELETE FROM users u
WHERE u.email IS NULL AND u.id <> (SELECT min(id) FROM users)
  AND NOT EXISTS (SELECT 1 FROM x_accounts a WHERE a.user_id = u.id);

-- An X account is connected to a user once (the local placeholder has no X id yet).
CREATE UNIQUE INDEX x_accounts_user_x_user_id ON x_accounts (user_id, x_user_id)
    WHERE x_user_id <> '';

-- The default is what chirp used until now: the first active account.
UPDATE users u SET default_x_account_id = (
    SELECT a.id FROM x_accounts a WHERE a.user_id = u.id ORDER BY a.is_active DESC, a.id LIMIT 1);

-- One text posted to several accounts: one post per account, sharing the group of the first.
-- Each post is scheduled, claimed, rate-limited and audited on its own.
ALTER TABLE posts ADD COLUMN group_id INTEGER;
CREATE INDEX idx_posts_group_id ON posts (group_id) WHERE group_id IS NOT NULL;
