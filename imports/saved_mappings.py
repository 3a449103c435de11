"""Column mappings saved by a shop under a name (``ImportMapping``), to choose the next time it imports
a file of the same kind: saved from the mapping step, listed in the upload form, proposed by
themselves when they were made for exactly the file's columns."""

from core.exceptions import DomainError

from .mapping import stored, words
from .models import ImportMapping


class MappingRefused(DomainError):
    pass


def import_mapping_save(
    *,
    resource: str,
    name: str,
    headers: list[str],
    targets: list[str],
    preset: str = "",
    create_missing: bool = False,
    user=None,
) -> tuple[ImportMapping, bool]:
    """Save (or replace) the shop's mapping ``name`` for ``resource``; returns it and whether it is new."""
    name = " ".join((name or "").split())
    if not name:
        raise MappingRefused("Give the mapping a name to save it under.")
    if len(name) > 100:
        raise MappingRefused("A mapping's name has at most 100 characters.")
    mapping, created = ImportMapping.objects.update_or_create(
        resource=resource,
        name=name,
        defaults={
            "columns": stored(headers, targets),
            "preset": preset or "",
            "create_missing": create_missing,
            "user": user if getattr(user, "is_authenticated", False) else None,
        },
    )
    return mapping, created


def import_mapping_delete(*, mapping: ImportMapping) -> None:
    mapping.delete()


def import_mappings_for(resource: str):
    return ImportMapping.objects.filter(resource=resource).order_by("name")


def import_mapping_for_file(resource: str, headers: list[str]) -> ImportMapping | None:
    """The saved mapping made for exactly these columns (the most recent one), if there is one."""
    wanted = {words(header) for header in headers if words(header)}
    for mapping in import_mappings_for(resource).order_by("-updated_at"):
        if set(mapping.columns) == wanted:
            return mapping
    return None
