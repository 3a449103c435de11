"""The admin's Export button, on django-import-export: the list's rows (its filters and search included)
as CSV, XLSX or JSON, with formula escaping that covers ``= + - @`` (``core.formats``); for whoever may
view the list. (Imports are the imports app's: ``imports.import_views``.)"""

from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from import_export.admin import ExportMixin
from unfold.contrib.import_export.forms import SelectableFieldsExportForm

from .formats import FORMATS, NATIVE_TYPE_FORMATS


class ExportAdminMixin(ExportMixin):
    """Put it before the admin's base: ``class OrderAdmin(ExportAdminMixin, HistoryAdmin)``, with
    ``resource_classes`` naming the export's resource."""

    formats = FORMATS
    export_form_class = SelectableFieldsExportForm

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_export_data(self, file_format, request, queryset, **kwargs):
        # The library only keeps numbers as numbers for its own XLSX class, not for subclasses.
        if not self.has_export_permission(request):
            raise PermissionDenied
        data = self.get_data_for_export(
            request, queryset, force_native_type=isinstance(file_format, NATIVE_TYPE_FORMATS), **kwargs
        )
        export_data = file_format.export_data(data)
        encoding = kwargs.get("encoding")
        if not file_format.is_binary() and encoding:
            export_data = export_data.encode(encoding)
        return export_data

    def export_action(self, request):
        try:
            return super().export_action(request)
        except IncorrectLookupParameters:
            # A filter the list doesn't have (an edited link): as the list itself does, start over.
            changelist = reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist",
                current_app=self.admin_site.name,
            )
            return HttpResponseRedirect(f"{changelist}?e=1")
