"""The domain: plain functions over the session that views, jobs and the CLI all call."""


class DomainError(ValueError):
    """Bad input for a domain operation; views show it as a 4xx, the CLI as a one-line error."""
