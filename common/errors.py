"""User mistakes: the one exception type for them, and the one parser for flags. The scripts print
either as one line, no traceback."""
import argparse


class UserError(Exception):
    """Bad input (a flag, a data file, an output folder) that the user can fix."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: `prog: error: message`. Flags are spelled out in
    full (no abbreviations), so that what a command line sets is plain to read and to check."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")
