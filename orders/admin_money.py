"""The order pages that move money back: refunds and returns of one order, cancelling many."""

from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from unfold.decorators import action

from audit.history_admin import message_with_change_set
from core.admin_base import REFUSED, held_message, is_held
from core.exceptions import DomainError
from core.money import format_money

from . import billing, services
from .forms import RefundForm
from .models import OrderStatus
from .services.holds import bulk_transition_approval_notice, refund_approval_notice

BULK_CANCEL_LIMIT = 500


def plan_key(plan) -> str:
    """What support reviewed, as text: the confirmation carries it, and anything else is reviewed again."""
    returns = ",".join(f"{r.line.pk}:{r.quantity}:{r.disposition}" for r in plan.returns)
    return f"{plan.amount}|{returns}|{plan.reason}"


class OrderMoneyPages:
    """The refund and return page of an order, and the list's "Cancel selected orders"."""

    @action(
        description="Refund / return", permissions=["change"], icon="currency_exchange", url_path="refund"
    )
    def refund(self, request, object_id):
        """A page, not a dialog: the lines, the amount and the charges need room. GET: the form.
        POST: the review of what will happen; POST with ``confirm``: it happens."""
        order = self.get_object(request, unquote(object_id))
        if order is None:
            raise Http404
        page_url = reverse("admin:orders_order_change", args=[order.pk])
        refundable = min(billing.order_refundable(order), order.total)
        form = RefundForm(request.POST or None, order=order, refundable=refundable)
        plan = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                plan = services.order_refund_preview(
                    order=order, amount=data["refund_amount"], reason=data["reason"], returns=data["returns"]
                )
            except DomainError as error:
                form.add_error(None, str(error))
            if plan is not None and request.POST.get("confirm") == plan_key(plan):
                result = self.run_service(
                    request,
                    lambda: services.order_refund(
                        order=order,
                        amount=plan.amount,
                        reason=plan.reason,
                        returns=data["returns"],
                        user=request.user,
                    ),
                )
                if is_held(result):
                    self.message_user(request, held_message(result), messages.INFO)
                    return HttpResponseRedirect(page_url)
                if result is not REFUSED:
                    self.message_user(request, self._refund_message(order, plan), messages.SUCCESS)
                    return HttpResponseRedirect(page_url + "#timeline")
                plan = None
        return TemplateResponse(
            request,
            "admin/orders/order/refund.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Refund or take back goods: {order.number}",
                "opts": self.opts,
                "original": order,
                "order": order,
                "form": form,
                "plan": plan,
                "plan_key": plan_key(plan) if plan else "",
                "approval": refund_approval_notice(plan) if plan else None,
                "currency": settings.ORDER_CURRENCY,
                "refundable": refundable,
                "charges": billing.charges_refundable(order),
                "tax_rate": str(settings.ORDER_TAX_RATE),
                "page_url": page_url,
            },
        )

    @staticmethod
    def _refund_message(order, plan) -> str:
        parts = []
        if plan.amount:
            parts.append(f"{format_money(plan.amount)} refunded on {order.number}")
        if plan.restocked:
            parts.append(f"{sum(r.quantity for r in plan.restocked)} unit(s) back to stock")
        if plan.written_off:
            parts.append(f"{sum(r.quantity for r in plan.written_off)} unit(s) written off")
        text = "; ".join(parts)
        return text[:1].upper() + text[1:] + "."

    @action(description="Cancel selected orders (refund, restock)…", permissions=["change"])
    def bulk_cancel(self, request, queryset):
        """An intermediate page lists what each order gives back; a reason, then POST ``apply``."""
        orders = list(queryset.order_by("pk")[: BULK_CANCEL_LIMIT + 1])
        if len(orders) > BULK_CANCEL_LIMIT:
            # Each cancellation may call the payment provider: a bounded batch, never a silent cut.
            self.message_user(
                request,
                f"Nothing was cancelled: select at most {BULK_CANCEL_LIMIT} orders to cancel at once.",
                messages.ERROR,
            )
            return None
        reason = (request.POST.get("reason") or "").strip()
        if "apply" in request.POST and reason:
            try:
                change_set = services.order_bulk_transition(
                    orders=orders, to=OrderStatus.CANCELLED, user=request.user, reason=reason
                )
            except services.BulkCancelIncomplete as incomplete:
                self.message_user(request, str(incomplete), messages.WARNING)
                return None
            except DomainError as error:
                self.message_user(request, str(error), messages.ERROR)
                return None
            if is_held(change_set):
                self.message_user(request, held_message(change_set), messages.INFO)
                return None
            text = f"{len(orders)} order(s) cancelled: what they had paid was refunded, their stock returned."
            self.message_user(request, message_with_change_set(text, change_set), messages.SUCCESS)
            return None
        from .selectors import cancellation_preview

        rows = [(order, cancellation_preview(order)) for order in orders]
        return TemplateResponse(
            request,
            "admin/orders/order/bulk_cancel.html",
            {
                **self.admin_site.each_context(request),
                "title": "Cancel these orders?",
                "opts": self.opts,
                "rows": rows,
                "refused": [
                    o for o in orders if OrderStatus.CANCELLED not in services.allowed_transitions(o)
                ],
                "refund_total": sum((preview["refund_total"] for _, preview in rows), Decimal("0.00")),
                "reason_missing": "apply" in request.POST and not reason,
                "approval": bulk_transition_approval_notice(
                    len(orders), max((preview["refund_total"] for _, preview in rows), default=None)
                ),
                "selected": [o.pk for o in orders],
            },
        )
