"""What an import reports: how many articles it stored, and each line it skipped with its
number and its reasons (``str()`` of a :class:`SkippedLine` is how it is shown)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from app.errors import FieldError


@dataclass(frozen=True)
class SkippedLine:
    """A line that was not imported: its number (from 1) and why, field by field."""

    line: int
    errors: tuple[FieldError, ...]

    def __str__(self) -> str:
        # An error of the whole line (field "") is a sentence of its own.
        reasons = "; ".join(
            f"{error.field}: {error.message}" if error.field else error.message
            for error in self.errors
        )
        return f"line {self.line}: {reasons}"


@dataclass
class ImportReport:
    """What an import did: how many articles it stored and which lines it skipped."""

    imported: int = 0
    skipped: list[SkippedLine] = field(default_factory=list)
