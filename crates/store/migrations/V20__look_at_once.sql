-- A post rescued from a publisher that died (or whose lease ran out) is looked for on its
-- network at once: those already there are recorded as posted without waiting. Only a post
-- not found waits until `send_not_before` (the grace period: a request of the dead publisher
-- still on the wire lands meanwhile) and is looked for again before it is sent.
ALTER TABLE posts ADD COLUMN send_not_before TIMESTAMPTZ;
