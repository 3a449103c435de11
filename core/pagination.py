"""Pagination that doesn't count a million rows on every page view.

- A whole big table: the planner's estimate ("about 1,000,000 products").
- A filter or search: counted up to ``COUNT_CAP`` rows (``SELECT count(*) FROM (… LIMIT cap + 1)``);
  past that the list says "more than 10,000" at once, and ``?count=exact`` (a link beside it) counts
  them all.
"""

import json

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils.functional import cached_property

# Below this, counting is cheap and exact counts are nicer.
ESTIMATE_ABOVE = 10_000
# A filtered list counts at most this many matches unless asked for the exact count (COUNT_VAR).
COUNT_CAP = 10_000
COUNT_VAR = "count"
# Past this many rows, a numbered page first reads only its keys (an index-only scan), then its rows.
DEEP_OFFSET = 2_000
# Numbered page links offered (the rest of a long list is reached by "Next", a keyset link).
LINKED_PAGES = 200


def estimated_row_count(queryset) -> int | None:
    """The planner's estimate of the rows ``queryset`` returns (None if the plan gives none).

    From ``EXPLAIN`` (statistics, no scan): for a whole table it is ``pg_class.reltuples``; for one
    tenant's rows it uses the column statistics of ``tenant_id`` too.
    """
    connection = connections[queryset.db]
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    rows = plan[0]["Plan"].get("Plan Rows")
    return int(rows) if rows is not None else None


def related_count(model, related_model, fk_name: str) -> tuple:
    """An annotation counting the ``related_model`` rows whose ``fk_name`` points at each ``model`` row,
    and whether it is an estimate: ``(expression, estimated)``.

    Exact (a correlated COUNT on the foreign key's index) while the related table is small. Above
    ``ESTIMATE_ABOVE`` rows on PostgreSQL, the planner's statistics: the key's frequency among the
    column's most common values times the table's rows (for a category of 25,000 products that's one
    look-up instead of reading 25,000 index entries); keys not among them are few rows: counted.
    """
    related = related_model._default_manager.filter(**{fk_name: OuterRef("pk")}).order_by().values(fk_name)
    exact = Coalesce(
        Subquery(related.annotate(n=Count("*")).values("n")[:1], output_field=IntegerField()), Value(0)
    )
    estimate = estimated_row_count(related_model._default_manager.all())
    if estimate is None or estimate <= ESTIMATE_ABOVE:
        return exact, False
    column = related_model._meta.get_field(fk_name).column
    outer = f"{connection_quote(model._meta.db_table)}.{connection_quote(model._meta.pk.column)}"
    # Identifiers come from the models (quoted), values are parameters.
    statistics = RawSQL(  # noqa: S611
        "SELECT round(m.freq * c.reltuples)::integer FROM pg_stats s"  # noqa: S608
        " CROSS JOIN LATERAL unnest(s.most_common_vals::text::text[], s.most_common_freqs) AS m(val, freq)"
        " JOIN pg_class c ON c.oid = %s::regclass"
        " WHERE s.schemaname = current_schema() AND s.tablename = %s AND s.attname = %s"
        f" AND m.val = {outer}::text",
        [related_model._meta.db_table, related_model._meta.db_table, column],
        output_field=IntegerField(),
    )
    return Coalesce(statistics, exact), True


def connection_quote(name: str) -> str:
    return connections["default"].ops.quote_name(name)


def is_unfiltered(queryset) -> bool:
    """No filter beyond what the model's default manager applies (e.g. the active tenant)."""
    if queryset.query.distinct:
        return False
    if not queryset.query.where:
        return True
    base = queryset.model._default_manager.all().query.where
    return bool(base) and queryset.query.where == base


class MoreThan(int):
    """A count known only to be above ``int(self) - 1``: shown as "more than 10,000" wherever a
    template prints it (the list's header, "Select all …"), compared and paged as the number."""

    def __str__(self):
        return f"more than {int(self) - 1:,}"

    __html__ = __str__


class EstimatedCountPaginator(Paginator):
    """Exact counts for small tables and small matches; the planner's estimate for a big table; "more
    than COUNT_CAP" for a filter or search matching more (``exact=True``: counted however many).

    An estimate is used only when the queryset is the whole table (no WHERE but the tenant's) and the
    estimate says the table is big.
    """

    template_name = "admin/estimated_pagination.html"
    linked_pages = LINKED_PAGES

    estimated = False  # True once ``count`` is the planner's estimate
    capped = False  # True once ``count`` is MoreThan(COUNT_CAP + 1)

    def __init__(self, *args, exact=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.exact = exact

    @cached_property
    def count(self):
        queryset = self.object_list
        if not hasattr(queryset, "query"):
            return super().count
        if is_unfiltered(queryset):
            estimate = estimated_row_count(queryset)
            if estimate is not None and estimate > ESTIMATE_ABOVE:
                self.estimated = True
                return estimate
        if self.exact:
            return super().count
        # One query either way; past the cap it stops reading matches. Only the keys: the list's
        # annotations (a customer's orders and lifetime value) would be computed for every match.
        matches = queryset.order_by().values("pk")[: COUNT_CAP + 1].count()
        if matches > COUNT_CAP:
            self.capped = True
            return MoreThan(COUNT_CAP + 1)
        return matches

    def validate_number(self, number):
        # An estimate may be a little short of the real count, a capped one far: don't refuse the
        # pages past it.
        if not (self.count and (self.estimated or self.capped)):
            return super().validate_number(number)
        try:
            number = int(number)
        except (TypeError, ValueError) as error:
            raise PageNotAnInteger("That page number is not an integer") from error
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        return number

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        queryset = self.object_list
        if bottom >= DEEP_OFFSET and hasattr(queryset, "values_list"):
            # Offset over the ordering's index alone (no row fetched, no annotation computed for the
            # skipped rows), then the page's rows by primary key, in the same order.
            keys = list(queryset.values_list("pk", flat=True)[bottom:top])
            return Page(queryset.filter(pk__in=keys), number, self)
        return super().page(number)

    def get_elided_page_range(self, number=1, *, on_each_side=3, on_ends=2):
        """Django's numbered links, none past the first ``linked_pages`` pages (but the current one):
        far pages of a long list are reached by the keyset "Next" link or by sorting the other way."""
        pages = list(super().get_elided_page_range(number, on_each_side=on_each_side, on_ends=on_ends))
        if self.num_pages <= self.linked_pages:
            return pages
        kept = []
        for page in pages:
            if page == self.ELLIPSIS:
                if kept and kept[-1] != self.ELLIPSIS:
                    kept.append(page)
            elif page <= self.linked_pages or page == number:
                kept.append(page)
        if kept and kept[-1] != self.ELLIPSIS:
            kept.append(self.ELLIPSIS)
        return kept
