-- Migration 7: the IMAP connections of a cluster (docs/design.md, "Jobs and
-- nodes"): a connection to a mail server first takes one of its slots, so that
-- however many nodes run, no more than [cluster] imap_connections are open to
-- it at once. A slot whose lease ran out (its node died) is free.
CREATE TABLE imap_slots (
  server TEXT NOT NULL,                  -- the mail server's host:port
  slot INTEGER NOT NULL,                 -- 0 .. imap_connections-1
  owner TEXT,                            -- the node holding it; NULL: free
  lease_until INTEGER NOT NULL,          -- free after this unless renewed
  PRIMARY KEY (server, slot)
);
