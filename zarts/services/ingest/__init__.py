"""Ingest: the request path of a webhook, from the POST to the 202.

receipt      checks, verifies, dedupes and stores one delivery (the whole contract in one place)
targets      what the endpoint knows about a connection, cached briefly per process
signatures   the four signature schemes (verify, and sign for tests and test events)
secrets      signing secrets and credentials: generated per scheme, Fernet-encrypted at rest
masking      sensitive-key matching and masking, the one place that decides what is hidden
summaries    the payload summary admins see instead of the raw body
group_commit one transaction and commit per group of concurrent deliveries
row_writer   the group's multi-row INSERTs, rendered once per shape
write_lock   one writer at a time across processes on SQLite
webhook_limits  the optional per-connection rate limit
outbox       after commit, committed event ids go to handoff in batches, off the request path
handoff      committed events handed to normalization (the pipeline) through zarts.dispatch

May import: audit, health.signals (rejection counters), zarts.dispatch. Nothing here imports the
pipeline or anything above it.
"""
