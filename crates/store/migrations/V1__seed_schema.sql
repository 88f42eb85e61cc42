-- The seed schema (shared/seed/schema-design.md), as the MVP designed it:
-- users -> x_accounts (1:1) -> posts (1:many), with updated_at triggers.
-- V2 adapts it for publishing; every query in the seed document keeps working.

CREATE TABLE users (
    id          SERIAL PRIMARY KEY,
    email       VARCHAR(255) UNIQUE,
    name        VARCHAR(255),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE TABLE x_accounts (
    id                SERIAL PRIMARY KEY,
    user_id           INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    access_token      TEXT NOT NULL,
    refresh_token     TEXT,
    token_expires_at  TIMESTAMPTZ,
    x_user_id         VARCHAR(255) NOT NULL,
    x_username        VARCHAR(255) NOT NULL,
    is_active         BOOLEAN NOT NULL DEFAULT true,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT x_accounts_user_id_key UNIQUE (user_id)
);

CREATE TABLE posts (
    id             SERIAL PRIMARY KEY,
    x_account_id   INTEGER NOT NULL REFERENCES x_accounts(id) ON DELETE CASCADE,
    content        TEXT NOT NULL,
    status         VARCHAR(20) NOT NULL DEFAULT 'draft',
    scheduled_at   TIMESTAMPTZ,
    posted_at      TIMESTAMPTZ,
    x_tweet_id     VARCHAR(255),
    error_message  TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT posts_content_length CHECK (char_length(content) <= 280),
    CONSTRAINT posts_status_check CHECK (status IN ('draft', 'scheduled', 'posted', 'failed'))
);

CREATE INDEX idx_posts_x_account_id ON posts (x_account_id);
CREATE INDEX idx_posts_status ON posts (status);
CREATE INDEX idx_posts_scheduled_at ON posts (scheduled_at) WHERE status = 'scheduled';

CREATE OR REPLACE FUNCTION update_updated_at_column() RETURNS TRIGGER AS $$
BEGIN
    NEW.updated_at = NOW();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER update_users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_x_accounts_updated_at BEFORE UPDATE ON x_accounts
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_posts_updated_at BEFORE UPDATE ON posts
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
