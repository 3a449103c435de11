"""Change forms that know what they were opened at, so that two people editing one record never lose
each other's work (``audit.versions``, ``audit.conflicts``).

Every change form of a ``HistoryAdmin`` carries one signed token with the version of its record and of
each inline row it shows. When posted, the forms compare what comes back with that version, so
``changed_data`` names only what this person changed; the services lock the rows and merge on top of
what others saved since, or raise ``EditConflict``. On a conflict nothing is saved (the writes of the
attempt are rolled back) and the form comes back as posted, with a table of each clash: the value
before either, theirs (who, when) and yours, and a choice per field. Saving again with the choices
goes through against the values shown.
"""

from contextlib import nullcontext
from dataclasses import dataclass, field

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db import models, transaction

from .conflicts import EditConflict, RowEdit, merge_message, named, note_gone, noting
from .versions import RECORD, THEIRS, YOURS, PageVersions, record_key, versions_of

VERSIONS_FIELD = "_edit_versions"
CHOICE_PREFIX = "_keep:"
_UNREAD = object()


def posted_versions(request) -> PageVersions | None:
    """The versions the posted page carries, as sent (None: a page without them, e.g. a script)."""
    cached = getattr(request, "_posted_versions", _UNREAD)
    if cached is _UNREAD:
        token = request.POST.get(VERSIONS_FIELD) if request.method == "POST" else None
        cached = request._posted_versions = PageVersions.read(token) if token else None
    return cached


def page_versions(request) -> PageVersions | None:
    """The posted versions with the person's choices on a conflict applied: a field shown in a
    conflict counts as seen only once the person chose theirs or yours (else it conflicts again)."""
    cached = getattr(request, "_page_versions", _UNREAD)
    if cached is not _UNREAD:
        return cached
    posted = posted_versions(request)
    versions = None
    if posted is not None:
        versions, picked = PageVersions(), choices(request)
        for key, version in posted.items():
            chosen = picked.get(key, {})
            resolved = (
                version.resolved
                if RECORD in chosen
                else {name: value for name, value in version.resolved.items() if name in chosen}
            )
            versions[key] = type(version)(
                version.model, version.pk, version.values, version.history_id, resolved
            )
    request._page_versions = versions
    return versions


def choices(request) -> dict:
    """key -> {field: "theirs" | "yours"}: what the person chose in a conflict's table."""
    picked: dict = {}
    if request is None:  # a formset used without a page (no choices to read)
        return picked
    for name, value in request.POST.items():
        if name.startswith(CHOICE_PREFIX) and value in (THEIRS, YOURS):
            key, _, field_name = name.removeprefix(CHOICE_PREFIX).rpartition(":")
            picked.setdefault(key, {})[field_name] = value
    return picked


def chosen(request, key: str, field_name: str) -> str | None:
    return choices(request).get(key, {}).get(field_name)


def start_from_version(form, versions: PageVersions | None, pk) -> None:
    """Make ``form`` compare what is posted with the version its page was opened at."""
    version = versions.of(form._meta.model, pk) if versions is not None else None
    if version is None:
        return
    for name, value in version.base().items():
        if name not in form.fields:
            continue
        model_field = form._meta.model._meta.get_field(name)
        if isinstance(model_field, models.FileField) and value is not None:
            value = model_field.attr_class(form.instance, model_field, value)
        form.initial[name] = value


class TextLinesField(forms.CharField):
    """A text area's value with plain line endings, as stored: browsers post CRLF, which made an
    unchanged text count as this person's change (a false conflict, a field named in history)."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


class VersionedForm:
    """Mixed into a change form: ``changed_data`` is measured against the version the page was
    opened at, and while a conflict is shown the form refuses (the table says why)."""

    edit_request = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.is_bound and self.instance.pk is not None:
            start_from_version(self, page_versions(self.edit_request), self.instance.pk)

    def clean(self):
        cleaned = super().clean()
        conflict = getattr(self.edit_request, "_edit_conflict", None)
        if conflict is not None:
            raise ValidationError(
                "Someone else saved changes to the same fields since you opened this page: nothing was "
                "saved. Choose above, field by field, which values to keep, then save again."
            )
        return cleaned


class VersionedFormSet:
    """Mixed into an inline's formset: each row is compared with its own version, and a row deleted
    since the page was opened is kept apart (``form.vanished``) instead of failing as an unknown
    choice."""

    edit_request = None

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        form.vanished, form.edit_pk = False, form.instance.pk
        if self.is_bound and i < self.initial_form_count():
            if form.instance.pk is None:
                form.edit_pk, form.vanished = self._vanished_pk(form), True
            start_from_version(form, page_versions(self.edit_request), form.edit_pk)
        return form

    def _vanished_pk(self, form):
        pk_field = self.model._meta.pk
        form.fields[pk_field.name] = forms.CharField(required=False, widget=forms.HiddenInput)
        try:
            return pk_field.to_python(form.data.get(form.add_prefix(pk_field.name)))
        except ValidationError:
            return None


@dataclass
class EditedRows:
    """An inline formset's rows as its service takes them."""

    changed: list = field(default_factory=list)  # RowEdit
    deleted: list = field(default_factory=list)  # RowEdit
    added: list = field(default_factory=list)  # new instances


CHANGED, DELETED, ADDED, GONE = "changed", "deleted", "added", "gone"


def row_actions(request, formset):
    """What the person did to each row of an inline, against the versions the page was opened at and
    with their choices on a conflict: ``(form, action, names)`` with action ``CHANGED`` (``names``:
    the fields they changed, less those they chose to leave as theirs), ``DELETED``, ``ADDED`` (a new
    row, or one someone deleted since that they chose to keep) or ``GONE`` (deleted since and left
    deleted: they didn't change it, deleted it too, or chose so). A row deleted since that they
    changed, without a choice yet, is ``CHANGED`` (the service names who deleted it)."""
    model = formset.model
    for form in formset.initial_forms:
        pk = getattr(form, "edit_pk", form.instance.pk)
        if pk is None:
            continue
        key = record_key(model, pk)
        deleting = formset.can_delete and formset._should_delete_form(form)
        editable = _model_fields(form)
        names = [n for n in form.changed_data if n in editable and chosen(request, key, n) != THEIRS]
        on_record = chosen(request, key, RECORD)
        if getattr(form, "vanished", False):
            if deleting or not names or on_record == THEIRS:
                yield form, GONE, []
            else:
                yield form, ADDED if on_record == YOURS else CHANGED, names
        elif deleting:
            if on_record != THEIRS:
                yield form, DELETED, []
        elif names:
            yield form, CHANGED, names
    for form in formset.extra_forms:
        if form.has_changed() and not (formset.can_delete and formset._should_delete_form(form)):
            yield form, ADDED, _model_fields(form)


def edited_rows(request, formset) -> EditedRows:
    """What the person did to an inline's rows (``row_actions``) as its service takes them; a row
    someone deleted since that the person left deleted is noted for the message."""
    versions, rows, model = page_versions(request), EditedRows(), formset.model
    for form, action, names in row_actions(request, formset):
        if action == ADDED:
            rows.added.append(form.instance)
            continue
        pk = getattr(form, "edit_pk", form.instance.pk)
        version = versions.of(model, pk) if versions is not None else None
        edit = RowEdit(pk, _values(form, names), version, named(form.instance))
        if action == GONE:
            note_gone(version, record=edit.record)
        else:
            (rows.changed if action == CHANGED else rows.deleted).append(edit)
    return rows


def _values(form, names) -> dict:
    return {name: form.cleaned_data[name] for name in names if name in form.cleaned_data}


class VersionedChangeForms:
    """For ``HistoryAdmin``: versions on every change form and its editable inlines; saves that merge
    or come back with the comparison."""

    change_form_before_template = "admin/edit_versions.html"
    # A page is saved in one transaction, so a conflict found late rolls back what the attempt wrote.
    # An admin whose services commit their own steps (and call a provider between them) turns this
    # off and checks every conflict before it writes anything.
    edit_in_one_transaction = True

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.TextField) and not db_field.choices:
            kwargs.setdefault("form_class", TextLinesField)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if not change:
            return form
        return type(form)(form.__name__, (VersionedForm, form), {"edit_request": request})

    def get_formsets_with_inlines(self, request, obj=None):
        for formset, inline in super().get_formsets_with_inlines(request, obj):
            if obj is not None and (
                inline.has_change_permission(request, obj) or inline.has_delete_permission(request, obj)
            ):
                formset = type(formset.__name__, (VersionedFormSet, formset), {"edit_request": request})
            yield formset, inline

    def get_inline_formsets(self, request, formsets, inline_instances, obj=None):
        for formset in formsets:
            if formset.is_bound and isinstance(formset, VersionedFormSet):
                # A posted page shown again pairs each row with the record it edits (Django pairs them
                # by position, which shifts when a row was deleted since), and keeps a row deleted
                # since, with the person's values, so they can choose.
                rows = [form.instance for form in formset.initial_forms]
                formset.get_queryset = lambda rows=rows: rows
        return super().get_inline_formsets(request, formsets, inline_instances, obj)

    def _changeform_view(self, request, object_id, form_url, extra_context):
        if request.method != "POST" or object_id is None:
            return super()._changeform_view(request, object_id, form_url, extra_context)
        posted_versions(request)  # a damaged token is refused before anything else
        request._edit_conflicts = []
        try:
            with self._edit_transaction(), noting() as notes:
                response = super()._changeform_view(request, object_id, form_url, extra_context)
        except EditConflict as conflict:
            # Everything the attempt wrote is rolled back; the form comes back with the comparison.
            request._edit_conflict = conflict
            return super()._changeform_view(request, object_id, form_url, extra_context)
        if notes:
            text = merge_message(notes, main_key=record_key(self.model, unquote(object_id)))
            self.message_user(request, text, messages.WARNING)
        return response

    def _edit_transaction(self):
        return transaction.atomic() if self.edit_in_one_transaction else nullcontext()

    def save_related(self, request, form, formsets, change):
        # Every inline's conflicts are gathered (with the record's own), so the person sees them all.
        form.save_m2m()
        conflicts = getattr(request, "_edit_conflicts", [])
        for formset in formsets:
            try:
                self.save_formset(request, form, formset, change=change)
            except EditConflict as conflict:
                conflicts.append(conflict)
        if conflicts:
            raise EditConflict.combine(conflicts)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if change and obj is not None:
            versions = self._versions_to_carry(request, context)
            context["edit_versions"] = versions.token() if versions is not None else ""
            context["edit_conflict"] = getattr(request, "_edit_conflict", None)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _versions_to_carry(self, request, context) -> PageVersions | None:
        """A form shown again after a POST keeps the versions it was opened at (with what a conflict
        showed); a page opened now gets the records' versions now."""
        posted = posted_versions(request) if request.method == "POST" else None
        if posted is not None:
            conflict = getattr(request, "_edit_conflict", None)
            for key, seen in (conflict.resolved() if conflict else {}).items():
                if key in posted:
                    posted[key].resolved = {**posted[key].resolved, **seen}
            return posted
        if not self.has_change_permission(request, context.get("original")):
            return None
        form = context["adminform"].form
        records = [(form.instance, _model_fields(form))]
        for inline_admin_formset in context.get("inline_admin_formsets", []):
            formset = inline_admin_formset.formset
            if not issubclass(type(formset), VersionedFormSet):
                continue
            records += [(f.instance, _model_fields(f)) for f in formset.initial_forms if f.instance.pk]
        return versions_of(records)


def _model_fields(form) -> list[str]:
    names = {f.name for f in form._meta.model._meta.concrete_fields if not f.primary_key}
    return [name for name in form.fields if name in names]
