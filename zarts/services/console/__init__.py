"""Console: what admins look at and act on in bulk.

board      the health board's read models
explorer   the event explorer: query arguments to validated filters to keyset pages
events     reading events for the CLI and the views; the audited raw view
bulk       bulk retry as a job, walked in keyset batches
audit_log  reading the audit trail for its page
keyset     keyset pagination and time filters shared by the admin lists

May import: pipeline (replay), ingest (summaries), zarts.dispatch, audit.
"""
