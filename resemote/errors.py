"""The one exception type the command line turns into a one-line message (no traceback)."""


class ResEmoteError(Exception):
    """Bad input from the user: a missing file, a malformed row, an unknown name, a bad checkpoint.

    The message is a single line that says what was expected and where.
    """
