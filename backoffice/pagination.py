"""Pagination that doesn't count a million rows on every page view."""

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

# Below this, counting is cheap and exact counts are nicer.
ESTIMATE_ABOVE = 100_000


def estimated_row_count(model, using="default") -> int | None:
    """The planner's estimate of a table's rows on PostgreSQL (``pg_class.reltuples``), else None."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [model._meta.db_table],
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None and row[0] >= 0 else None


def is_unfiltered(queryset) -> bool:
    return not queryset.query.where and not queryset.query.distinct


class EstimatedCountPaginator(Paginator):
    """Exact counts for filtered lists and small tables; the planner's estimate for a big table.

    An estimate is used only when the queryset is the whole table (no WHERE) and the estimate says the
    table is big, so a filter or a search always shows exact numbers.
    """

    @cached_property
    def count(self):
        queryset = self.object_list
        if hasattr(queryset, "query") and is_unfiltered(queryset):
            estimate = estimated_row_count(queryset.model, queryset.db)
            if estimate is not None and estimate > ESTIMATE_ABOVE:
                return estimate
        return super().count
