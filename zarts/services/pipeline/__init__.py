"""Pipeline: what happens to a stored event after the 202, in RQ jobs.

claims     claim events with a lease (one atomic UPDATE); what the sweeper finds stranded
normalize  plan (parse + map) a batch, upsert it in one transaction, set final states
records    idempotent upserts of normalized records and their metric values
ordering   which of two states of one provider object is newer (versions, then occurred-at)
failures   failed attempts: retry with backoff and jitter, or dead-letter with an owner task
sweeper    hand stranded events over again (the database is the truth, not the queue)
replay     admin retry, replay, ignore and manual resolution of events
manual     manual fallback: a hand-entered update lands like any normalized record

May import: ingest (summaries, handoff), mapping, health (the after-batch check), proof (cards), notify
(alerts), audit.
"""
