"""Admin search that stays on indexes at a million rows.

Django's default search turns every term into ``UPPER(col) LIKE UPPER('%term%')`` on every field,
which no index serves. Here each field says how it is matched: ``prefix`` fields use ``LIKE 'term%'``
(a ``varchar_pattern_ops`` index on PostgreSQL), ``contains`` fields use ``ILIKE '%term%'`` (served by
a ``pg_trgm`` GIN index).
"""

from collections.abc import Callable

from django.db.models import Q
from django.urls import reverse
from unfold.dataclasses import SearchResult

# Below this length a "contains" match can't use the trigram indexes (it would scan the table).
CONTAINS_MIN_LENGTH = 3


def search_condition(
    term: str,
    *,
    prefix: dict[str, Callable[[str], str] | None] | None = None,
    contains: list[str] | None = None,
    contains_min_length: int = 0,
) -> Q:
    """Rows whose ``prefix`` fields start with the term or whose ``contains`` fields hold it."""
    condition = Q()
    for field, transform in (prefix or {}).items():
        condition |= Q(**{f"{field}__startswith": transform(term) if transform else term})
    if len(term) >= contains_min_length:
        for field in contains or []:
            condition |= Q(**{f"{field}__trigram_contains": term})
    return condition


def indexed_search(queryset, term: str, *, prefix=None, contains=None):
    """An admin's ``get_search_results``: (the matching rows, no duplicates)."""
    term = (term or "").strip()
    if not term:
        return queryset, False
    return queryset.filter(search_condition(term, prefix=prefix, contains=contains)), False


def command_matches(queryset, term: str, *, prefix=None, contains=None):
    """The command palette's matches: ``contains`` only from ``CONTAINS_MIN_LENGTH`` characters, and
    no ORDER BY (sorting by name would walk the name index past every non-match)."""
    condition = search_condition(
        term, prefix=prefix, contains=contains, contains_min_length=CONTAINS_MIN_LENGTH
    )
    return queryset.order_by().filter(condition)


def search_result(obj, description: str, icon: str) -> SearchResult:
    """A command-palette result that opens ``obj``'s page in the admin."""
    opts = obj._meta
    return SearchResult(
        title=str(obj),
        description=description,
        link=reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]),
        icon=icon,
    )
