import datetime as dt

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.dateparse import parse_date
from unfold.contrib.filters.admin import RangeDateFilter, RelatedDropdownFilter

from .figures import midnight
from .tenancy import current_tenant, tenant_staff


class DayRangeFilter(RangeDateFilter):
    """From one day to another, both included, on a date-time column, staying on its index.

    Unfold's date range compares a date-time with midnight, which drops the last day; here the range
    is [first day 00:00, day after the last 00:00) in the site's time zone.
    """

    def queryset(self, request, queryset):
        start = _day(self.used_parameters.get(f"{self.parameter_name}_from"))
        end = _day(self.used_parameters.get(f"{self.parameter_name}_to"))
        if start:
            queryset = queryset.filter(**{f"{self.parameter_name}__gte": midnight(start)})
        if end:
            queryset = queryset.filter(**{f"{self.parameter_name}__lt": midnight(end + dt.timedelta(days=1))})
        return queryset


def _day(value):
    value = value[0] if isinstance(value, list) else value
    if not value:
        return None
    try:
        return parse_date(value)
    except ValueError:
        return None


class StaffUserFilter(RelatedDropdownFilter):
    """A "user" filter offering the open shop's staff (and superusers, who work in every shop), never
    the staff of other shops."""

    def field_choices(self, field, request, model_admin):
        staff = (
            get_user_model()
            .objects.filter(tenant_staff(current_tenant()) | Q(is_superuser=True))
            .order_by("username")
        )
        return [(user.pk, str(user)) for user in staff]
