"""One exception type for every user-facing failure.

The CLI prints ``octoglot: error: <message>`` on one line and exits non-zero;
messages start with where the problem is (file, field or flag).
"""


class OctoglotError(Exception):
    """A problem with the user's input or environment, shown as one line."""
