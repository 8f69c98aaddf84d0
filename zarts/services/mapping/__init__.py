"""Mapping: the data that says how a provider payload becomes a normalized record.

rules        the JMESPath mapping language: validate a mapping, find the rule for an event type, apply it
csv_columns  the mapping's "csv" section: headers to targets, typed cell values
csv_values   dates and numbers as people write them in CSV files
versions     a connection's mapping in force, its saved versions (who, when, why, diff), restore, previews
suggest      a rule proposed from many sample payloads, each part with why
shapes       the paths index: paths, types, presence and masked examples per connection and event type
drift        schema drift findings read from the index: a mapped path gone, a changed type, a new type
studio       work on a draft: samples, suggestions, picking a path into it, a preview on many events

May import: audit, ingest.masking (what a preview hides), pipeline.ordering (what a preview would do).
Used by the pipeline, imports, sync, health and the admin.
"""
