from unfold.contrib.filters.admin import DropdownFilter

from .selectors import approvers, change_sets_approved_by


class ApprovedByFilter(DropdownFilter):
    """The audit log's entries of changes a person approved (their change sets), for auditors."""

    title = "approved by"
    parameter_name = "approved_by"

    def lookups(self, request, model_admin):
        return [(str(user.pk), str(user)) for user in approvers()]

    def queryset(self, request, queryset):
        value = self.value()
        if not value or not str(value).isdigit():
            return queryset
        return queryset.filter(change_set_id__in=change_sets_approved_by(int(value)))
