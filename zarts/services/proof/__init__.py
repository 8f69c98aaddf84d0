"""Proof: what published metrics become, and what clients see.

metrics   metric definitions: published only with source, period, unit and client meaning
outcomes  pre-aggregated portal cards, threshold tasks, incidents
periods   calendar periods (UTC): day, ISO week, month, quarter
portal    the client portal's read models: normalized data and admin-written text, one client's only
notes     report notes, dated and client-visible
tasks     admin tasks: open work, mine first, and resolving it

May import: audit. The bottom of the stages: nothing here imports ingest, pipeline or above.
"""
