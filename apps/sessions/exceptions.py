from apps.core.errors import DependencyUnavailable


class SessionStoreUnavailable(DependencyUnavailable):
    """The session store cannot answer now: unreachable, throttled or its table missing."""

    dependency = "session store"
