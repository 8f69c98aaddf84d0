"""Setup: clients, users and connections, from creation to going live.

accounts     clients and users: creation with validation, password authentication
connections  shipped provider definitions, creating and editing connections, rotating secrets
lifecycle    a connection's lifecycle and its onboarding checklist, which gates going active
onboarding   test events through the real receipt, and the review of what they became
demo         demo data for `make run`

May import: ingest, mapping, pipeline, health (rules), proof, audit.
"""
