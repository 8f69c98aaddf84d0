"""Health: is each connection's data arriving as promised?

signals  per-minute counters of rejected deliveries and provider throttling
rules    from a connection's recent signals and events to healthy, degraded, stale or error
checks   apply the rules (after each batch and periodically), record changes, sync incidents

May import: proof (incidents and tasks), notify (alerts), mapping (drift findings), audit.
"""
