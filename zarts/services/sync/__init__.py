"""Sync: pull connectors that page through a provider's API instead of receiving webhooks.

pull      a sync run: page through the source, store each record as a raw event, normalize
source    HTTP for one page of JSON, with retries and Retry-After honoured
addresses where a sync may connect: public addresses only, checked after DNS and pinned
settings  a connector's configuration over its provider's defaults; the credential
runs      sync runs and their lease: one run per connection across processes and hosts
preview   a test sync: one bounded page, what a real sync would make of it, nothing stored

May import: pipeline, mapping, ingest (summaries, secrets), health, setup (lifecycle), notify (alerts), audit.
"""
