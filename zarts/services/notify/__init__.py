"""Notifications: alerts that reach a connection's owner, and the client digest.

channels   sending one message: email over SMTP (Flask-Mail), a Slack-compatible incoming webhook,
           a JSON webhook signed with Standard Webhooks; which URLs may be reached
alerts     what happened to a connection, turned into notification rows for each destination in
           the same transaction as the change (grouped in a window, one per incident, snoozable)
messages   the words of each alert: what happened, since when, the likely cause, the admin link;
           never a payload value
delivery   sending what is due (a job; in-process without Redis): retries with backoff, a
           per-destination rate limit, failing destinations marked, resend
destinations  where alerts go (an admin's, a connection's, on-call), test sends, alert snooze, the log
digest     the client's periodic email: their cards and new notes, from the portal's client-safe
           views; preview, per-client switch, one-click unsubscribe per user

May import: proof (portal views), ingest (secrets, signatures), sync (addresses), audit, zarts.dispatch.
"""
