class SessionStoreUnavailable(Exception):
    """The session store cannot answer now: unreachable, throttled or its table missing."""
