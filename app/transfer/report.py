"""What an import reports: how many articles it stored, how many it found already stored,
the old URLs it kept, and each line it skipped with its number and its reasons (``str()``
of a :class:`SkippedLine` is how it is shown)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from app.errors import FieldError


@dataclass(frozen=True)
class SkippedLine:
    """A line that was not imported: its number (from 1) and why, field by field."""

    line: int
    errors: tuple[FieldError, ...]

    @property
    def reason(self) -> str:
        """Why, without the line number: what a report groups skipped lines by."""
        # An error of the whole line (field "") is a sentence of its own.
        return "; ".join(
            f"{error.field}: {error.message}" if error.field else error.message
            for error in self.errors
        )

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    """What an import did: how many articles it stored, how many lines named an article
    stored before (by its id: not an error, what makes a second run add nothing), how
    many old URLs it kept (``redirects``: each answers 301 to its article's page), and
    which lines it skipped."""

    imported: int = 0
    already_imported: int = 0
    redirects: int = 0
    skipped: list[SkippedLine] = field(default_factory=list)
