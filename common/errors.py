"""The one exception type for user mistakes: the scripts print its message as one line, no traceback."""


class UserError(Exception):
    """Bad input (a flag, a data file, an output folder) that the user can fix."""
