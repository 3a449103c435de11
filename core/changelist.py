"""The admin's change list at a million rows: keyset "next page" links, deep pages by an index-only
seek, and a date hierarchy that doesn't scan the table.

- **Keyset paging**: ``?after=<position>`` shows the rows after a position in the list's ordering
  (``name > 'Lamp' OR (name = 'Lamp' AND id < …)``), which an index on the ordering serves at any
  depth: page 10,000 costs what page 1 costs. Every page links "Next" this way when the ordering is
  made of the model's own non-null columns (the default orderings are, with Django's pk tie-break).
- **Numbered pages** stay (offset paging) for the first pages; past ``DEEP_OFFSET`` rows the paginator
  first reads only the page's keys (an index-only scan, no annotations), then the rows by key.
- **Date hierarchy**: Django lists the years/months/days that have rows with ``SELECT DISTINCT
  date_trunc(…)`` over the whole (filtered) table. Here they are the range between the first and the
  last row (two index look-ups): a day without rows inside the range may be offered and shows an
  empty list.
"""

import base64
import binascii
import datetime as dt
import json
from urllib.parse import quote as url_quote

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Max, Min, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.http import RFC3986_SUBDELIMS
from unfold.views import ChangeList

from .pagination import COUNT_VAR

AFTER_VAR = "after"
_KEY = "__row_key__"


# --- keyset positions ------------------------------------------------------------------------------
def keyset_fields(model, ordering) -> list[tuple] | None:
    """[(field, descending)] for an ordering of the model's own non-null columns, else None."""
    fields = []
    for item in ordering:
        if not isinstance(item, str):
            return None
        name = item.lstrip("-")
        if "__" in name or name == "?":
            return None
        try:
            field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        except FieldDoesNotExist:
            return None  # an annotation (e.g. a count): no position to seek from
        if not field.concrete or field.null or field.many_to_many or field.one_to_many:
            return None
        if any(field is seen for seen, _ in fields):
            continue  # Django's tie-break "-pk" after "-id"
        fields.append((field, item.startswith("-")))
        if field.primary_key or field.unique:
            return fields  # later columns can't change the order
    return None  # without a unique column, positions would skip or repeat rows


def position_token(obj, ordering) -> str:
    """The opaque ``after`` value for the position of ``obj`` in a list ordered by ``ordering``."""
    fields = keyset_fields(type(obj), ordering)
    if fields is None:
        raise ValueError(f"no keyset for ordering {ordering!r}")
    values = [field.value_to_string(obj) for field, _ in fields]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_position(token: str, fields) -> list:
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError) as error:
        raise IncorrectLookupParameters(f"bad position {token!r}") from error
    if not isinstance(values, list) or len(values) != len(fields):
        raise IncorrectLookupParameters(f"bad position {token!r}")
    try:
        return [field.to_python(value) for (field, _), value in zip(fields, values, strict=True)]
    except ValidationError as error:
        raise IncorrectLookupParameters(f"bad position {token!r}") from error


def after_condition(fields, values) -> Q:
    """Rows after ``values`` in the ordering, written so that the first column bounds an index range:
    ``a >= x AND (a > x OR (b <= y AND (b < y OR …)))`` (for ``a`` ascending, ``b`` descending)."""
    condition = None
    for (field, descending), value in reversed(list(zip(fields, values, strict=True))):
        beyond = Q(**{f"{field.attname}__{'lt' if descending else 'gt'}": value})
        if condition is None:
            condition = beyond
        else:
            reach = Q(**{f"{field.attname}__{'lte' if descending else 'gte'}": value})
            condition = reach & (beyond | condition)
    return condition


# --- the date hierarchy from the range ---------------------------------------------------------------
class RangeDatesMixin:
    """``dates()`` / ``datetimes()`` as every period from the first row to the last."""

    def aggregate(self, *args, **kwargs):
        # Django's date hierarchy asks this queryset for the first and last dates, then for the
        # periods between them (below), which need the same two: one query for both.
        if args or set(kwargs) != {"first", "last"}:
            return super().aggregate(*args, **kwargs)
        asked = (kwargs["first"], kwargs["last"])
        known = self.__dict__.get("_range_bounds")
        if known is None or known[0] != asked:
            known = self._range_bounds = (asked, super().aggregate(**kwargs))
        return dict(known[1])

    def _bounds(self, field_name):
        bounds = self.aggregate(first=Min(field_name), last=Max(field_name))
        return bounds["first"], bounds["last"]

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None):
        first, last = self._bounds(field_name)
        if first is None:
            return []
        zone = tzinfo or timezone.get_current_timezone()
        first, last = first.astimezone(zone), last.astimezone(zone)
        periods = _periods(first.date(), last.date(), kind)
        return [dt.datetime.combine(day, dt.time.min, tzinfo=zone) for day in _ordered(periods, order)]

    def dates(self, field_name, kind, order="ASC"):
        first, last = self._bounds(field_name)
        if first is None:
            return []
        return _ordered(_periods(first, last, kind), order)


def _periods(first: dt.date, last: dt.date, kind: str) -> list[dt.date]:
    if kind == "year":
        return [dt.date(year, 1, 1) for year in range(first.year, last.year + 1)]
    if kind == "month":
        months = []
        year, month = first.year, first.month
        while (year, month) <= (last.year, last.month):
            months.append(dt.date(year, month, 1))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months
    if kind == "day":
        return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    raise ValueError(f"kind {kind!r} isn't year, month or day")


def _ordered(periods, order):
    return list(reversed(periods)) if order == "DESC" else periods


_range_classes: dict[type, type] = {}


def with_range_dates(queryset):
    base = type(queryset)
    if issubclass(base, RangeDatesMixin):
        return queryset
    if base not in _range_classes:
        _range_classes[base] = type(f"RangeDates{base.__name__}", (RangeDatesMixin, base), {})
    clone = queryset._chain()
    clone.__class__ = _range_classes[base]
    return clone


# --- the change list ---------------------------------------------------------------------------------
class FastChangeList(ChangeList):
    """Django's ChangeList with keyset positions (``?after=``) and a cheap date hierarchy."""

    is_dataset = False  # Unfold's search form asks three times (its datasets' lists say True)

    def __init__(self, request, *args, **kwargs):
        self.after = request.GET.get(AFTER_VAR) or None
        super().__init__(request, *args, **kwargs)

    def get_filters_params(self, params=None):
        lookup_params = super().get_filters_params(params)
        lookup_params.pop(AFTER_VAR, None)
        lookup_params.pop(COUNT_VAR, None)
        return lookup_params

    def get_query_string(self, new_params=None, remove=None):
        # Sorting, filtering or searching starts from the top of the list again.
        new_params = dict(new_params or {})
        remove = [*(remove or [])]
        if AFTER_VAR not in new_params:
            remove.append(AFTER_VAR)
        return super().get_query_string(new_params, remove)

    def get_ordering_field(self, field_name):
        # A foreign-key column sorts by the key itself (on the foreign key's index), grouping rows by
        # the related record; Django would sort by the related model's ordering, which joins and sorts
        # the whole table (1.2 s for order lines by order at a million rows).
        try:
            field = self.lookup_opts.get_field(field_name)
        except FieldDoesNotExist:
            return super().get_ordering_field(field_name)
        return field.attname if field.many_to_one and field.concrete else field.name

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        return with_range_dates(queryset) if self.date_hierarchy else queryset

    @property
    def keyset(self):
        return keyset_fields(self.model, self.queryset.query.order_by)

    def get_results(self, request):
        if self.after is None:
            return super().get_results(request)
        fields = self.keyset
        if fields is None:
            raise IncorrectLookupParameters("this ordering has no positions")
        paginator = self.model_admin.get_paginator(request, self.queryset, self.list_per_page)
        rows = self.queryset.filter(after_condition(fields, decode_position(self.after, fields)))
        self.result_count = paginator.count
        self.show_full_result_count = self.model_admin.show_full_result_count
        self.full_result_count = self.root_queryset.count() if self.show_full_result_count else None
        self.show_admin_actions = True
        self.result_list = rows[: self.list_per_page]
        self.can_show_all = False
        self.multi_page = True
        self.paginator = paginator

    def next_page_url(self) -> str | None:
        """The keyset link to the rows after this page's last row (None on the last page)."""
        fields = self.keyset
        if fields is None or not self.multi_page:
            return None
        rows = list(self.result_list)  # the page's rows, fetched once and kept for the template
        if len(rows) < self.list_per_page:
            return None
        ordering = [("-" if descending else "") + field.name for field, descending in fields]
        return self.get_query_string({AFTER_VAR: position_token(rows[-1], ordering)}, remove=[PAGE_VAR])

    def url_for_result(self, result):
        # One reverse() per page instead of one per row and link column (100 on a product page):
        # the change URL with a placeholder, the row's key put in as reverse() would quote it.
        if not hasattr(self, "_change_url"):
            self._change_url = reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                args=(_KEY,),
                current_app=self.model_admin.admin_site.name,
            )
        key = url_quote(str(quote(getattr(result, self.pk_attname))), safe=RFC3986_SUBDELIMS + "/~:@")
        return self._change_url.replace(_KEY, key, 1)

    def exact_count_url(self) -> str:
        """This list from its first page, its matches counted however many they are."""
        return self.get_query_string({COUNT_VAR: "exact"}, remove=[PAGE_VAR])

    def first_page_url(self) -> str:
        return self.get_query_string(remove=[PAGE_VAR, AFTER_VAR])


class FilterPanelChangeList(FastChangeList):
    """The change list as the filter panel needs it (its filters, their choices and counts, the query
    strings of its links) without the page's rows or their count: the panel is fetched on its own
    when it is opened (``BaseAdmin.filter_panel_view``)."""

    def get_results(self, request):
        self.result_count = 0
        self.show_full_result_count = False
        self.full_result_count = None
        self.show_admin_actions = False
        self.result_list = self.queryset.none()
        self.can_show_all = False
        self.multi_page = False
        self.paginator = None
