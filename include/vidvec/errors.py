"""The one project error type: raised for input or state a user must fix."""


class VidvecError(ValueError):
    """A problem the caller can fix; the message says what to fix."""


class NotFound(VidvecError):
    """A video, collection or alias that does not exist."""


class StoreInUse(VidvecError):
    """The embedded store is open in another process (or already in this one)."""
