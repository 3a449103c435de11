from core.exceptions import DomainError


class ImportRefused(DomainError):
    """An import (or a retry) can't go ahead; the message says why and what to do."""


class ImportBusy(ImportRefused):
    """Another import into the same shop is running (imports of one shop take turns)."""
