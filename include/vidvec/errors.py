"""The one project error type: raised for input or state a user must fix."""

SHOWN_CHARS = 60  # of a user's value echoed in an error message


class VidvecError(ValueError):
    """A problem the caller can fix; the message says what to fix."""


class NotFound(VidvecError):
    """A video, collection or alias that does not exist."""


class NotServed(NotFound):
    """A stored video that queries do not serve (a tombstone, a point without a vector): as good as unknown."""


class StoreInUse(VidvecError):
    """The embedded store is open in another process (or already in this one)."""


class DamagedFile(VidvecError):
    """A file vidvec owns cannot be read as what it must be; vidvec leaves it as it is for the user."""

    def __init__(self, path: object, wrong: str, todo: str):
        super().__init__(f"{path} {wrong}: {todo}")
        self.path, self.wrong = path, wrong


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """A user's value as an error message quotes it: its repr, cut (a 10 KB id is not echoed whole)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f"{len(value):,} characters" if isinstance(value, str | bytes) else "cut"
    return f"{text[:limit]}... ({size})"
