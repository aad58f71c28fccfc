-- Migration 3: the index of a blob store that keeps its objects elsewhere
-- (S3), in the catalog database every node shares (docs/design.md, "The
-- blob store on S3"). Empty while the blobs are in the local store, which
-- keeps its own index in blobs/index.db.
CREATE TABLE blob_packs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  state TEXT NOT NULL CHECK (state IN ('uploading','live','retired')),
  size INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  retired_at INTEGER
);
CREATE TABLE blob_index (
  hash BLOB PRIMARY KEY,
  pack INTEGER REFERENCES blob_packs(id),
  entry_offset INTEGER NOT NULL,
  entry_length INTEGER NOT NULL,
  raw_size INTEGER NOT NULL
);
CREATE INDEX blob_index_pack ON blob_index(pack);
