"""Load generation. The only package that imports Locust (and so gevent's monkey-patching)."""


def prepare_process() -> None:
    """Import Locust first, so gevent patches sockets and ssl before anything else imports them.

    Call this at the very start of a process that will run load (``harness run``,
    ``harness demo``); patching after httpx or ssl were imported breaks TLS
    contexts with a RecursionError.
    """
    import locust  # noqa: F401  (the import is the point: it monkey-patches)
