"""The outbox in the admin: every message with its state and what it says, read-only for everyone;
and the e-mails of an order on the order's page."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.csp import CSP
from django.utils.formats import date_format
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import ChoicesCheckboxFilter
from unfold.datasets import BaseDataset

from core.admin_base import ReadOnlyAdmin, ReadOnlyPermissions
from core.cells import display
from core.filters import DayRangeFilter
from orders.models import Order
from orders.selectors import normalise_order_number

from .models import Message

STATE_COLOURS = {
    Message.State.QUEUED: "info",
    Message.State.SENDING: "info",
    Message.State.RETRYING: "warning",
    Message.State.SENT: "success",
    Message.State.KEPT: "primary",
    Message.State.FAILED: "danger",
}
# The message's HTML is shown in a sandboxed frame of its own page: no scripts, no requests out (a
# tracking image, a form), no access to the admin around it; only its inline styles and data images.
PREVIEW_POLICY = {
    "default-src": [CSP.NONE],
    "style-src": [CSP.UNSAFE_INLINE],
    "img-src": ["data:"],
    "frame-ancestors": [CSP.SELF],
    "sandbox": True,
}


class MessageColumns:
    """What both the outbox and an order's e-mails show about a message."""

    @display(description="State", ordering="state", label=STATE_COLOURS)
    def state_badge(self, obj):
        return obj.state, obj.get_state_display()

    @display(description="Subject", ordering="subject")
    def subject_or_kind(self, obj):
        return obj.subject or f"{obj.get_kind_display()} (not written yet)"


@admin.register(Message)
class MessageAdmin(MessageColumns, ReadOnlyAdmin):
    list_display = ["subject_or_kind", "recipient", "kind", "state_badge", "attempts", "about", "created_at"]
    list_display_links = ["subject_or_kind"]
    list_select_related = ["order", "import_job"]
    list_filter = [
        ("state", ChoicesCheckboxFilter),
        ("kind", ChoicesCheckboxFilter),
        ("created_at", DayRangeFilter),
    ]
    search_fields = ["recipient"]
    search_help_text = "The start of the recipient's e-mail address, or an order number."
    ordering = ["-created_at", "-id"]
    title = "Outbox"
    fieldsets = [
        (None, {"fields": ["subject_or_kind", "recipient", "from_email", "reply_to", "about"]}),
        ("The message", {"fields": ["html_preview", "text_preview"]}),
        (
            "Delivery",
            {
                "fields": [
                    "kind",
                    "state",
                    "attempts",
                    "last_error",
                    "created_at",
                    "next_attempt",
                    "sent_at",
                    "message_id",
                ]
            },
        ),
    ]
    # Everything is shown, nothing is edited.
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": self.title, **(extra_context or {})})

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        number = normalise_order_number(term)
        if number:
            return queryset.filter(order__in=Order.objects.filter(number=number).values("pk")), False
        return queryset.filter(recipient__startswith=term.lower()), False

    def get_urls(self):
        html = path(
            "<path:object_id>/html/",
            self.admin_site.admin_view(self.html_view),
            name="notifications_message_html",
        )
        return [html, *super().get_urls()]

    def html_view(self, request, object_id):
        """The message's HTML alone, for the frame on its page (under ``PREVIEW_POLICY``)."""
        message = self.get_object(request, unquote(object_id))
        if message is None:
            raise Http404("No e-mail with this id.")
        if not self.has_view_permission(request, message):
            raise PermissionDenied
        response = HttpResponse(message.body_html, content_type="text/html; charset=utf-8")
        response._csp_config = PREVIEW_POLICY  # what django.views.decorators.csp.csp_override sets
        response["X-Frame-Options"] = "SAMEORIGIN"
        response["Cache-Control"] = "private, no-store"
        return response

    @display(description="About")
    def about(self, obj):
        if obj.order_id:
            return _link(obj.order, "admin:orders_order_change", obj.order_id)
        if obj.import_job_id:
            return _link(obj.import_job, "admin:imports_importjob_change", obj.import_job_id)
        return "-"

    @display(description="Next attempt")
    def next_attempt(self, obj):
        if obj.state not in (Message.State.QUEUED, Message.State.RETRYING):
            return "-"
        return date_format(timezone.localtime(obj.due_at), "DATETIME_FORMAT")

    @display(description="HTML")
    def html_preview(self, obj):
        if not obj.body_html:
            return "Not written yet: a worker writes it when it takes the message."
        return format_html(
            '<iframe src="{}" sandbox="" title="The e-mail as HTML" loading="lazy" '
            'style="width:100%;min-width:20rem;height:40rem;border:1px solid #e4e4e7;border-radius:6px;'
            'background:#fff"></iframe>',
            reverse("admin:notifications_message_html", args=[obj.pk]),
        )

    @display(description="Plain text")
    def text_preview(self, obj):
        if not obj.body_text:
            return "-"
        return format_html(
            '<pre style="white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:13px">{}</pre>',
            obj.body_text,
        )


def _link(obj, url_name, pk):
    return format_html('<a href="{}" class="underline">{}</a>', reverse(url_name, args=[pk]), obj)


# --- On an order's page: the e-mails its customer was sent ---------------------------------------------
class OrderEmailsAdmin(MessageColumns, ReadOnlyPermissions, ModelAdmin):
    """The list inside the order's page (an Unfold dataset: outside the order's form)."""

    list_display = ["subject_or_kind", "recipient", "kind", "state_badge", "created_at", "sent_at"]
    list_display_links = ["subject_or_kind"]
    list_per_page = 20

    def get_queryset(self, request):
        order_id = (self.extra_context or {}).get("object")
        if not order_id or not request.user.has_perm("notifications.view_message"):
            return Message.objects.none()
        return Message.objects.filter(order_id=unquote(order_id)).order_by("-created_at", "-id")


class OrderEmailsDataset(BaseDataset):
    title = "E-mails to the customer"
    model = Message
    model_admin = OrderEmailsAdmin

    @property
    def contents(self):
        if not self.request.user.has_perm("notifications.view_message"):
            return ""
        return super().contents


def show_emails_on_order_pages() -> None:
    """Add the order's e-mails to the order admin's page (called from ``NotificationsConfig.ready``:
    the orders app doesn't know about e-mail)."""
    order_admin = admin.site.get_model_admin(Order)
    if OrderEmailsDataset not in order_admin.change_form_datasets:
        order_admin.change_form_datasets = (*order_admin.change_form_datasets, OrderEmailsDataset)
