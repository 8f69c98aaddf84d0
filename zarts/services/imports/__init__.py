"""Imports: manual CSV files, uploaded and streamed through the same pipeline as webhooks.

csv_import    the admin's side: upload, column mapping, dry run, confirm, what views and CLI show
csv_parse     storing a file in chunks, detecting encoding and delimiter, streaming its records
csv_rows      reading rows: checks row by row, duplicate keys, the tally of a pass
csv_run       the two passes the job runs: the dry run and the import
csv_complete  the end of an import: counts, the completion event, the report note and the task

(The mapping's "csv" section, which says how columns become fields, is mapping.csv_columns.)
May import: pipeline, mapping, ingest (summaries), proof (notes, tasks), audit, zarts.dispatch.
"""
