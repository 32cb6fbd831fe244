-- 0006_queue_time_ordered_ids.sql — job ids that grow with time (the UUIDv7 layout: 48 bits
-- of Unix milliseconds, version and variant bits, 74 random bits).
-- With random ids every new job and every new row version (a fetch or a completion cannot
-- be a HOT update) lands on a random leaf page of the primary key, and completing a batch
-- descends to 50 scattered leaves. Ids of jobs sent together now sit on the same few pages.
CREATE FUNCTION queue.new_job_id() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
           PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
           FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
$$;
ALTER TABLE queue.job ALTER COLUMN id SET DEFAULT queue.new_job_id();
