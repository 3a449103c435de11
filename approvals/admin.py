"""Change requests (what waits, what was decided; approve, reject or withdraw on a page that says what
will happen, by POST) and the shop's approval rules (set by superusers)."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from unfold.contrib.filters.admin import ChoicesCheckboxFilter, RadioFilter
from unfold.decorators import action, display
from unfold.enums import ActionVariant

from audit.history_admin import HistoryAdmin, message_with_change_set
from audit.selectors import admin_change_url
from core.admin_base import REFUSED, ReadOnlyPermissions
from core.filters import DayRangeFilter

from . import services
from .models import ApprovalRule, ChangeRequest
from .selectors import may_see, requests_visible_to, sees_every_request

STATUS_COLOURS = {
    ChangeRequest.Status.PENDING: "warning",
    ChangeRequest.Status.APPROVED: "success",
    ChangeRequest.Status.REJECTED: "danger",
    ChangeRequest.Status.OUTDATED: "danger",
    ChangeRequest.Status.FAILED: "danger",
    ChangeRequest.Status.WITHDRAWN: "default",
}


class MineFilter(RadioFilter):
    title = "asked by"
    parameter_name = "mine"

    def lookups(self, request, model_admin):
        return [("1", "Me"), ("0", "Others")]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.filter(requested_by=request.user)
        if self.value() == "0":
            return queryset.exclude(requested_by=request.user)
        return queryset


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyPermissions, HistoryAdmin):
    """Everyone sees their own requests ("My requests"); approvers and auditors see every request."""

    list_display = ["id", "title", "status_badge", "requested_by", "requested_at", "decided_by", "row_count"]
    list_display_links = ["id", "title"]
    list_select_related = ["requested_by", "decided_by"]
    list_filter = [("status", ChoicesCheckboxFilter), MineFilter, ("requested_at", DayRangeFilter)]
    search_fields = ["title"]
    ordering = ["-requested_at", "-id"]
    fields = [
        "title",
        "status",
        "reason",
        "rules_text",
        "records_link",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "decision_note",
        "outcome",
        "change_set_link",
    ]
    readonly_fields = fields
    change_form_after_template = "admin/approvals/changerequest/changes.html"
    actions_detail = ["approve", "reject", "withdraw"]

    def get_queryset(self, request):
        return requests_visible_to(request.user, super().get_queryset(request))

    def get_object(self, request, object_id, from_field=None):
        # Another person's request is found, then refused by has_view_permission (403, not 404).
        field = self.opts.pk if from_field is None else self.opts.get_field(from_field)
        try:
            return ChangeRequest.objects.get(**{field.name: field.to_python(object_id)})
        except (ChangeRequest.DoesNotExist, ValidationError, ValueError):
            return None

    def has_view_permission(self, request, obj=None):
        if obj is not None and not may_see(request.user, obj):
            return False
        return super().has_view_permission(request, obj)

    def changelist_view(self, request, extra_context=None):
        title = "Change requests" if sees_every_request(request.user) else "My requests"
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    @display(description="Status", ordering="status", label=STATUS_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    @display(description="Rules it exceeds")
    def rules_text(self, obj):
        return "; ".join(rule["text"] for rule in obj.rules) or "—"

    @display(description="Records")
    def records_link(self, obj):
        if obj.content_type_id is None or not obj.object_ids:
            return "—"
        model = obj.content_type.model_class()
        if len(obj.object_ids) == 1:
            url = admin_change_url(obj.content_type, obj.object_ids[0])
            label = (
                obj.changes[0]["record"] if obj.changes else f"{model._meta.verbose_name} {obj.object_ids[0]}"
            )
            return format_html('<a href="{}" class="text-primary-600">{}</a>', url, label) if url else label
        return f"{len(obj.object_ids)} {model._meta.verbose_name_plural}"

    @display(description="Applied as")
    def change_set_link(self, obj):
        if obj.change_set_id is None:
            return "—"
        url = reverse("admin:audit_changeset_change", args=[obj.change_set_id])
        return format_html('<a href="{}" class="text-primary-600">{}</a>', url, obj.change_set)

    # --- deciding ------------------------------------------------------------------------------------
    def _request_of(self, request, object_id) -> ChangeRequest | None:
        """The request of a detail page, read once per HTTP request (permission checks ask for it)."""
        cache = request.__dict__.setdefault("_change_requests", {})
        if object_id not in cache:
            cache[object_id] = self.get_object(request, unquote(str(object_id)))
        return cache[object_id]

    def has_approve_permission(self, request, object_id=None):
        found = self._request_of(request, object_id) if object_id else None
        return found is not None and services.change_request_decision_refusal(found, request.user) is None

    has_reject_permission = has_approve_permission

    def has_withdraw_permission(self, request, object_id=None):
        found = self._request_of(request, object_id) if object_id else None
        return found is not None and found.is_pending and found.requested_by_id == request.user.pk

    @action(
        description="Approve…",
        url_path="approve",
        icon="check",
        variant=ActionVariant.PRIMARY,
        permissions=["approve"],
    )
    def approve(self, request, object_id):
        change_request = self._decided(request, object_id)
        if request.method == "POST":
            done = self.run_service(
                request,
                lambda: services.change_request_approve(
                    change_request=change_request, user=request.user, note=request.POST.get("note", "")
                ),
            )
            if done is not REFUSED:
                text = f"Approved and applied: {done.title}."
                self.message_user(request, message_with_change_set(text, done.change_set), messages.SUCCESS)
            return HttpResponseRedirect(change_request.get_admin_url())
        conflicts = services.change_request_conflicts(change_request)
        return self._decision_page(request, change_request, "approve", conflicts=conflicts)

    @action(description="Reject…", url_path="reject", icon="block", permissions=["reject"])
    def reject(self, request, object_id):
        change_request = self._decided(request, object_id)
        if request.method == "POST":
            done = self.run_service(
                request,
                lambda: services.change_request_reject(
                    change_request=change_request, user=request.user, note=request.POST.get("note", "")
                ),
            )
            if done is REFUSED:
                return HttpResponseRedirect(
                    reverse("admin:approvals_changerequest_reject", args=[change_request.pk])
                )
            self.message_user(request, f"Rejected: {done.title}. Nothing was changed.", messages.SUCCESS)
            return HttpResponseRedirect(change_request.get_admin_url())
        return self._decision_page(request, change_request, "reject")

    @action(description="Withdraw…", url_path="withdraw", icon="undo", permissions=["withdraw"])
    def withdraw(self, request, object_id):
        change_request = self._decided(request, object_id)
        if request.method == "POST":
            done = self.run_service(
                request,
                lambda: services.change_request_withdraw(change_request=change_request, user=request.user),
            )
            if done is not REFUSED:
                self.message_user(request, f"Withdrawn: {done.title}. Nothing was changed.", messages.SUCCESS)
            return HttpResponseRedirect(change_request.get_admin_url())
        return self._decision_page(request, change_request, "withdraw")

    def _decided(self, request, object_id) -> ChangeRequest:
        change_request = self._request_of(request, object_id)
        if change_request is None:
            raise Http404
        return change_request

    def _decision_page(self, request, change_request, decision: str, conflicts=()):
        titles = {"approve": "Approve", "reject": "Reject", "withdraw": "Withdraw"}
        return TemplateResponse(
            request,
            "admin/approvals/changerequest/decide.html",
            {
                **self.admin_site.each_context(request),
                "title": f"{titles[decision]} request {change_request.pk}: {change_request.title}",
                "opts": self.opts,
                "change_request": change_request,
                "decision": decision,
                "conflicts": conflicts,
                "rules_text": self.rules_text(change_request),
            },
        )


@admin.register(ApprovalRule)
class ApprovalRuleAdmin(HistoryAdmin):
    """A shop's rules: its superusers set them; approvers and auditors read them."""

    list_display = ["kind", "rule_text", "is_active", "updated_at"]
    fields = ["kind", "threshold", "is_active"]
    create_service = staticmethod(services.approval_rule_create)
    update_service = staticmethod(services.approval_rule_update)
    delete_service = staticmethod(services.approval_rule_delete)

    @display(description="Changes that wait for approval")
    def rule_text(self, obj):
        return str(obj)

    def get_readonly_fields(self, request, obj=None):
        return ["kind"] if obj is not None else []

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
