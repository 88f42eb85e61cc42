-- Liveness: the application_name of the connections of the publisher that holds a claim.
-- While a backend with that name is connected, the publisher lives; when none is (the
-- process was killed, its host lost the database), its claims are handed back at once (to be
-- checked on X after a grace period) instead of waiting out the lease. The lease stays the
-- backstop, and claims made without a name (older chirp) wait for it as before.
ALTER TABLE posts ADD COLUMN claimed_by_app TEXT;
