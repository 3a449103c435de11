"""The admin of a record with a history: its versions, a revert through ``audit.services``, the record
"as of" a date, edit reasons, and messages that link to the change set an action made."""

import dataclasses

from django.contrib import messages
from django.contrib.admin.utils import model_ngettext, unquote
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.forms import JSONField
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper
from unfold.decorators import action

from core.admin_base import REFUSED, BaseAdmin, held_message, is_held
from core.tenancy import current_tenant, is_tenant_scoped

from .conflicts import EditConflict
from .display import EMPTY, SYSTEM, ValueDisplay, field_label, shown_fields
from .selectors import record_as_of
from .services import record_revert
from .versioned_admin import VersionedChangeForms, chosen, page_versions
from .versions import THEIRS, Version, record_key


def message_with_change_set(text: str, change_set):
    """A success message with a link to the change set it made (to inspect or undo it)."""
    if change_set is None:
        return text
    url = reverse("admin:audit_changeset_change", args=[change_set.pk])
    return format_html('{} <a href="{}" class="underline">See or undo this change</a>', text, url)


def parse_local_datetime(value: str | None):
    """'2026-11-25T10:30' from a datetime-local input, in the site's time zone; None if absent/bad."""
    parsed = parse_datetime(value) if value else None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def really_changed(form) -> list[str]:
    """The record's fields the form changed (not a form's own fields, such as a reason box). A JSON
    field reports a change when its text is re-posted unchanged: its values are compared."""
    record_fields = {field.name for field in form.instance._meta.get_fields()}
    return [
        name
        for name in form.changed_data
        if name in record_fields
        and not (
            isinstance(form.fields[name], JSONField) and form.initial.get(name) == form.cleaned_data.get(name)
        )
    ]


class ReadableChanges(HistoricalRecordContextHelper):
    """The history page's changes as the change form shows values (not ``True`` or ``Category 6``)."""

    def format_delta_change(self, change):
        field = self.model._meta.get_field(change.field)
        show = ValueDisplay()
        return dataclasses.replace(
            change, field=field_label(field), old=show(field, change.old), new=show(field, change.new)
        )


class HistoryAdmin(VersionedChangeForms, SimpleHistoryAdmin, BaseAdmin):
    """An admin whose edits are written to history with a reason naming what changed, and whose change
    forms never lose another person's edit (``audit.versioned_admin``)."""

    history_list_per_page = 50

    def message_changed(self, request, change_set, selected: int, verb: str):
        """'3 products published (1 already was). See or undo this change.': what an action did."""
        changed = change_set.row_count if change_set else 0
        unchanged = selected - changed
        text = f"{changed} {model_ngettext(self.opts, changed)} {verb}"
        if unchanged:
            text += f" ({unchanged} already {'was' if unchanged == 1 else 'were'})"
        self.message_user(
            request,
            message_with_change_set(text + ".", change_set),
            messages.SUCCESS if changed else messages.INFO,
        )

    def get_history_queryset(self, request, history_manager, pk_name, object_id):
        # History tables aren't filtered by a manager: keep the open shop's rows only (an id of
        # another shop's record, live or deleted, shows nothing).
        queryset = super().get_history_queryset(request, history_manager, pk_name, object_id)
        return queryset.filter(tenant_id=current_tenant().pk) if is_tenant_scoped(self.model) else queryset

    def get_historical_record_context_helper(self, request, historical_record):
        return ReadableChanges(self.model, historical_record)

    def history_view(self, request, object_id, extra_context=None):
        return super().history_view(request, object_id, {**(extra_context or {}), "system_author": SYSTEM})

    def revert_disabled(self, request, obj=None):
        if getattr(self.model, "revert_refusal", None):
            return True
        return not self.has_change_permission(request, obj)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """GET: the old version (simple-history's page, with a reason box). POST: revert through
        ``audit.services.record_revert``, which refuses what would break stock or money."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:  # only the open shop's records have versions to see
            raise Http404
        if request.method != "POST":
            # The page carries the record's last history row, so a revert never undoes unseen edits.
            latest = self.model.history.filter(**{self.opts.pk.attname: obj.pk}).order_by("-history_id")
            seen = {"revert_seen": latest.values_list("history_id", flat=True).first()}
            extra_context = {**(extra_context or {}), **seen}
            return super().history_form_view(request, object_id, version_id, extra_context)
        if self.revert_disabled(request, obj):
            raise PermissionDenied
        reverted = self.run_service(
            request,
            lambda: record_revert(
                model=self.model,
                object_id=obj.pk,
                history_id=version_id,
                user=request.user,
                reason=request.POST.get("revert_reason", ""),
                seen_history_id=_int_or_none(request.POST.get("revert_seen")),
            ),
        )
        if reverted is REFUSED:
            return HttpResponseRedirect(request.get_full_path())
        self.message_user(
            request, f"{reverted} was reverted; the revert is in its history.", messages.SUCCESS
        )
        return HttpResponseRedirect(
            reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])
        )

    @action(description="As of…", url_path="as-of", icon="schedule", permissions=["view"])
    def as_of(self, request, object_id):
        """The record (and, for an order, its lines) as it was at a chosen date and time."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        when = parse_local_datetime(request.GET.get("when")) or timezone.now()
        then = record_as_of(self.model, obj.pk, when)
        show = ValueDisplay()
        rows = [
            (
                field_label(field),
                show.record_value(then, field) if then is not None else EMPTY,
                show.record_value(obj, field),
            )
            for field in shown_fields(self.model)
            if field.name not in getattr(self, "as_of_hidden", ())
        ]
        return TemplateResponse(
            request,
            "admin/as_of.html",
            {
                **self.admin_site.each_context(request),
                "title": f"{obj} as of {timezone.localtime(when):%Y-%m-%d %H:%M}",
                "opts": self.opts,
                "original": obj,
                "when": timezone.localtime(when),
                "existed": then is not None,
                "rows": rows,
                "related": self.as_of_related(obj, when),
            },
        )

    def as_of_related(self, obj, when):
        """Extra tables for the as-of page (e.g. an order's lines): a list of (title, headers, rows)."""
        return []

    # Every write goes through the app's services, named here (``staticmethod(services.product_create)``)
    # and called with the record under its model's name (``product=obj``), the user and a reason that
    # says it was the admin; a write without its service is refused. An update also gets the
    # ``version`` of the record the person opened (None when the page carried none): the service
    # locks the record and merges on top of what others saved since, or raises ``EditConflict``.
    create_service = None
    update_service = None
    delete_service = None
    deleted_reason = "Deleted in the admin"

    def edit_reason(self, form, change: bool, names=None) -> str:
        if change:
            names = really_changed(form) if names is None else names
            return f"Edited in the admin ({', '.join(names) or 'no field'})"
        return "Created in the admin"

    def save_model(self, request, obj, form, change):
        record = {self.opts.model_name: obj}
        if not change:
            reason = self.edit_reason(form, change)
            self._service("create_service")(**record, user=request.user, reason=reason)
            return
        data, version = self.edited_values(request, form, obj)
        try:
            saved = self._service("update_service")(
                **record,
                data=data,
                user=request.user,
                reason=self.edit_reason(form, change, list(data)),
                version=version,
                **self.service_options(form),
            )
        except EditConflict as conflict:
            request.__dict__.setdefault("_edit_conflicts", []).append(conflict)
            return
        if is_held(saved):
            request.held_by_service = saved  # the edit waits for approval: see response_change
            return
        if saved is not None and saved is not obj:
            # The admin's copy shows what was saved (the other person's changes included).
            for model_field in self.model._meta.concrete_fields:
                setattr(obj, model_field.attname, getattr(saved, model_field.attname))

    def edited_values(self, request, form, obj) -> tuple[dict, Version | None]:
        """What this person changed on the record since they opened the page (field -> value), less
        what they chose to leave as theirs in a conflict, and the version they opened (None: the page
        carried none)."""
        key, versions = record_key(self.model, obj.pk), page_versions(request)
        names = [name for name in really_changed(form) if chosen(request, key, name) != THEIRS]
        version = versions.of(self.model, obj.pk) if versions is not None else None
        return {name: form.cleaned_data[name] for name in names}, version

    def service_options(self, form) -> dict:
        """More keywords for the update service, from the form (``why``: the reason a person gave)."""
        return {}

    def response_change(self, request, obj):
        held = getattr(request, "held_by_service", None)
        if held is None:
            return super().response_change(request, obj)
        # Nothing of the record changed: say what waits, on its page (which lists it).
        self.message_user(request, held_message(held), messages.INFO)
        return HttpResponseRedirect(request.path)

    def log_change(self, request, obj, message):
        if getattr(request, "held_by_service", None) is None:
            return super().log_change(request, obj, message)
        return None

    def delete_model(self, request, obj):
        record = {self.opts.model_name: obj}
        self._service("delete_service")(**record, user=request.user, reason=self.deleted_reason)

    def _service(self, name: str):
        service = getattr(self, name)
        if service is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__} has no {name}: admin writes go through services."
            )
        return service

    def delete_queryset(self, request, queryset):
        # One by one, so each deleted row gets its history row and reason.
        for obj in queryset:
            self.delete_model(request, obj)
