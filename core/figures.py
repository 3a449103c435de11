"""What the dashboard's sections share: periods counted in calendar days of the site's time zone, money
and unit texts, links to filtered lists and chart data for Unfold's charts."""

import datetime as dt
import json
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import DecimalField
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=20, decimal_places=2)
CHART_DAYS = 30
TOP_N = 10


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def period_start(days: int, *, today: dt.date) -> dt.date:
    """The first day of the ``days`` calendar days ending today: "last 7 days" is today and the 6 before."""
    return today - dt.timedelta(days=days - 1)


def units(n: int) -> str:
    return number_format(n, force_grouping=True)


def list_url(name: str, params=None) -> str:
    """An admin URL (by name) with a list's filters: ``list_url("admin:…_changelist", {...})``."""
    url = reverse(name)
    return f"{url}?{urlencode(params, doseq=True)}" if params else url


def chart(labels, values, *, label: str, colours=None) -> str:
    """The data of an Unfold bar chart (a canvas reads it from an attribute: no inline script)."""
    dataset = {
        "label": label,
        "data": [float(v) if isinstance(v, Decimal) else v for v in values],
        "backgroundColor": colours or "var(--color-primary-600)",
        "borderColor": "var(--color-primary-600)",
        "displayYAxis": True,
    }
    return json.dumps({"labels": [str(x) for x in labels], "datasets": [dataset]})
