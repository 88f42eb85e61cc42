-- "Add to queue": each account's weekly posting slots, as wall-clock times in the account's
-- own zone (the text is chirp_core::slots' canonical spelling; the zone an IANA name).
CREATE TABLE queue_slots (
    x_account_id INTEGER PRIMARY KEY REFERENCES x_accounts(id) ON DELETE CASCADE,
    spec         TEXT NOT NULL,
    timezone     TEXT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A post put in the queue took one of its account's slots. Two never hold the same slot of
-- an account while waiting to go out: the database says so, whatever processes race.
-- Unscheduling (back to draft) or deleting a post frees its slot.
ALTER TABLE posts ADD COLUMN queued BOOLEAN NOT NULL DEFAULT false;
CREATE UNIQUE INDEX posts_queue_slot_key ON posts (x_account_id, scheduled_at)
    WHERE queued AND status IN ('scheduled', 'publishing');
CREATE TRIGGER update_queue_slots_updated_at BEFORE UPDATE ON queue_slots
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
