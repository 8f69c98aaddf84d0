"""Mapping: the data that says how a provider payload becomes a normalized record.

rules        the JMESPath mapping language: validate a mapping, find the rule for an event type, apply it
csv_columns  the mapping's "csv" section: headers to targets, typed cell values
versions     a connection's mapping in force, its saved versions, saving (audited) and previews

May import: audit, ingest.masking (what a preview hides). Used by the pipeline, imports, sync and the admin.
"""
