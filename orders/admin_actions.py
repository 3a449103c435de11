"""What support does on an order's page and list besides editing it: place a draft, take payment, ship,
complete, cancel, refund and take goods back, add notes; and the product picker of its lines.

Every action that changes something is a POST after a page or dialog that says what it will do
(GET never changes anything); each calls one service.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.urls import path, reverse
from unfold.decorators import action
from unfold.enums import ActionVariant

from audit.history_admin import message_with_change_set
from core.admin_base import REFUSED, action_confirmation, held_message, is_held, redirect_from_dialog
from core.exceptions import DomainError
from core.money import format_money
from core.search import indexed_search
from inventory.models import Product

from . import billing, selectors, services, timeline
from .forms import (
    CancelDialogForm,
    CompleteDialogForm,
    OrderNoteForm,
    PlaceDialogForm,
    ShipDialogForm,
    TakePaymentDialogForm,
)
from .models import OrderStatus
from .services.holds import bulk_transition_approval_notice

PRODUCTS_PER_PAGE = 20


def order_dialog(name, *, label, icon, form_class, title, submit, call, done, variant=None, description=None):
    """A detail action of an order's page: a dialog (``form_class`` says what it will do), and on its
    confirmation (a POST with the CSRF token) one service call, ``call(request, form, order)``;
    ``done(order, result)`` is the message saying what happened. A refusal is an error message."""

    def run(self, request, form, object_id):
        order = self.get_object(request, unquote(str(object_id)))
        if order is None:
            raise Http404("No order with this id.")
        result = self.run_service(request, lambda: call(request, form, order))
        if is_held(result):
            self.message_user(request, held_message(result), messages.INFO)
        elif result is not REFUSED:
            self.message_user(request, done(order, result), messages.SUCCESS)
        return redirect_from_dialog(request, reverse("admin:orders_order_change", args=[order.pk]))

    run.__name__ = run.__qualname__ = name  # Unfold finds a detail action by its name
    dialog = {"title": title, "form_class": form_class, "form_submit_text": submit}
    if description:
        dialog["description"] = description
    return action(
        description=label,
        permissions=["change"],
        icon=icon,
        variant=variant or ActionVariant.DEFAULT,
        dialog=dialog,
    )(run)


def _cancelled_or_held(refunded, result):
    """The cancel dialog's result: (what was refunded, the order), or the request that waits."""
    return result if is_held(result) else (refunded, result)


class OrderActions:
    actions = ["bulk_ship", "bulk_complete", "bulk_cancel"]
    actions_detail = ["place", "take_payment", "ship", "complete", "cancel", "refund", "as_of"]
    change_form_after_template = "admin/orders/order/totals.html"
    change_form_outer_after_template = "admin/orders/order/money_and_timeline.html"

    class Media:
        js = ["orders/js/order_lines.js"]

    # Which detail actions an order's page offers, by what its status allows.
    def offered_actions(self, order) -> set[str]:
        allowed = services.allowed_transitions(order)
        offered = {"as_of"}
        if order.status == OrderStatus.DRAFT:
            offered.add("place")
        if order.status == OrderStatus.PENDING:
            offered.add("take_payment")
        if OrderStatus.SHIPPED in allowed:
            offered.add("ship")
        if OrderStatus.COMPLETED in allowed:
            offered.add("complete")
        if OrderStatus.CANCELLED in allowed:
            offered.add("cancel")
        if order.status in services.REFUNDABLE_STATUSES:
            offered.add("refund")
        return offered

    def get_actions_detail(self, request, object_id):
        actions = super().get_actions_detail(request, object_id)
        order = self.get_object(request, unquote(str(object_id)))
        if order is None:
            return actions
        offered = self.offered_actions(order)
        return [a for a in actions if a.action_name.removeprefix("orders_order_") in offered]

    def get_urls(self):
        own = [
            path("products/", self.admin_site.admin_view(self.products_view), name="orders_order_products"),
            path(
                "product-prices/",
                self.admin_site.admin_view(self.product_prices_view),
                name="orders_order_product_prices",
            ),
            path(
                "<path:object_id>/notes/",
                self.admin_site.admin_view(self.note_view),
                name="orders_order_note",
            ),
        ]
        return own + super().get_urls()

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context.update(
                timeline=timeline.order_timeline(obj),
                charges=billing.charges_refundable(obj),
                note_form=OrderNoteForm(),
                can_add_note=self.has_change_permission(request, obj),
                tax_rate=str(settings.ORDER_TAX_RATE),
                currency=settings.ORDER_CURRENCY,
            )
            if not obj.is_editable:
                # Shipped, completed, cancelled, refunded: no field can change (notes and the
                # buttons above post on their own), so no Save button that would do nothing.
                context.update(show_save=False, show_save_and_continue=False, show_save_and_add_another=False)
        else:
            context.update(tax_rate=str(settings.ORDER_TAX_RATE), currency=settings.ORDER_CURRENCY)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_add(self, request, obj, post_url_continue=None):
        # A new draft opens on its own page, where it is placed.
        if "_addanother" not in request.POST:
            self.message_user(
                request, f"Draft {obj.number} saved: place it when it is ready.", messages.SUCCESS
            )
            return HttpResponseRedirect(reverse("admin:orders_order_change", args=[obj.pk]))
        return super().response_add(request, obj, post_url_continue)

    # --- the product picker ------------------------------------------------------------------------
    def products_view(self, request):
        """Published products for an order line (select2's autocomplete protocol), each with its
        stock and price."""
        if not (request.user.has_perm("orders.change_order") or request.user.has_perm("orders.add_order")):
            raise PermissionDenied
        page = max(int(request.GET.get("page") or 1), 1)
        products, _ = indexed_search(
            Product.objects.published().order_by("name", "pk"),
            request.GET.get("term", ""),
            prefix={"sku": str.upper},
            contains=["name"],
        )
        start = (page - 1) * PRODUCTS_PER_PAGE
        chosen = list(
            products.only("pk", "name", "sku", "stock", "price")[start : start + PRODUCTS_PER_PAGE + 1]
        )
        return JsonResponse(
            {
                "results": [
                    {
                        "id": str(p.pk),
                        "text": f"{p.name} ({p.sku}) · {p.stock} in stock · {format_money(p.price)}",
                        "price": str(p.price),
                        "stock": p.stock,
                    }
                    for p in chosen[:PRODUCTS_PER_PAGE]
                ],
                "pagination": {"more": len(chosen) > PRODUCTS_PER_PAGE},
            }
        )

    def product_prices_view(self, request):
        """{product id: {price, stock}} of the ids asked (the totals on the order's page)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        ids = [i for i in request.GET.getlist("id")[:200] if i]
        try:
            products = Product.objects.filter(pk__in=ids).values_list("pk", "price", "stock")
            return JsonResponse(
                {str(pk): {"price": str(price), "stock": stock} for pk, price, stock in products}
            )
        except DomainError:
            return JsonResponse({})
        except Exception:  # an id that isn't one: nothing to say about it
            return JsonResponse({})

    # --- notes -------------------------------------------------------------------------------------
    def note_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self.get_object(request, unquote(object_id))
        if order is None:
            raise Http404
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        form = OrderNoteForm(request.POST)
        if form.is_valid():
            services.order_note_add(order=order, text=form.cleaned_data["text"], user=request.user)
            self.message_user(request, "Note added.", messages.SUCCESS)
        else:
            self.message_user(request, "A note needs some text.", messages.ERROR)
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]) + "#timeline")

    # --- detail actions: each a dialog that says what it does (orders.forms), then a POST ----------
    place = order_dialog(
        "place",
        label="Place order",
        icon="shopping_cart_checkout",
        variant=ActionVariant.PRIMARY,
        form_class=PlaceDialogForm,
        title="Place this order",
        description="Its stock is taken now. Charged now, it is paid once the charge went through.",
        submit="Place order",
        call=lambda request, form, order: services.order_place(
            draft=order, charge=form.cleaned_data["payment"] == "charge", user=request.user
        ),
        done=lambda order, placed: (
            f"Order {order.number} placed: "
            + (
                f"the customer was charged {format_money(placed.total)}."
                if placed.status == OrderStatus.PAID
                else "payment is due on delivery."
            )
        ),
    )
    take_payment = order_dialog(
        "take_payment",
        label="Take payment",
        icon="payments",
        form_class=TakePaymentDialogForm,
        title="Charge what the customer owes",
        submit="Charge now",
        call=lambda request, form, order: services.order_pay(order=order, user=request.user),
        done=lambda order, paid: f"Order {order.number} is paid.",
    )
    ship = order_dialog(
        "ship",
        label="Mark shipped",
        icon="local_shipping",
        form_class=ShipDialogForm,
        title="Mark this order shipped",
        submit="Mark shipped",
        call=lambda request, form, order: services.order_ship(order=order, user=request.user),
        done=lambda order, shipped: f"Order {order.number} marked shipped.",
    )
    complete = order_dialog(
        "complete",
        label="Complete",
        icon="task_alt",
        form_class=CompleteDialogForm,
        title="Complete this order",
        submit="Complete",
        call=lambda request, form, order: services.order_complete(order=order, user=request.user),
        done=lambda order, completed: f"Order {order.number} completed.",
    )
    cancel = order_dialog(
        "cancel",
        label="Cancel order",
        icon="cancel",
        variant=ActionVariant.DANGER,
        form_class=CancelDialogForm,
        title="Cancel this order",
        submit="Cancel the order",
        call=lambda request, form, order: _cancelled_or_held(
            billing.order_refundable(order),
            services.order_cancel(order=order, reason=form.cleaned_data["reason"], user=request.user),
        ),
        done=lambda order, result: (
            f"Order {order.number} cancelled: "
            + (f"{format_money(result[0])} refunded, " if result[0] else "")
            + ("its stock returned." if order.status != OrderStatus.DRAFT else "no stock had been taken.")
        ),
    )

    # --- bulk actions ------------------------------------------------------------------------------
    def _bulk(self, request, queryset, to, verb: str):
        """First a page saying what it does (and which selected orders can't: then no Confirm, all
        or nothing); the change once confirmed."""
        orders = list(queryset.order_by("pk"))
        effects, refused = selectors.orders_bulk_effects(orders, to)
        page = action_confirmation(
            self,
            request,
            title=f"{services.BULK_TITLES[to]} of the selected orders",
            effects=effects,
            refusals=refused,
            submit=services.BULK_TITLES[to],
            approval=bulk_transition_approval_notice(len(orders)),
        )
        if page is not None:
            return page
        change_set = self.run_service(
            request,
            lambda: services.order_bulk_transition(
                orders=orders, to=to, user=request.user, why=request.POST.get("why", "")
            ),
        )
        if is_held(change_set):
            self.message_user(request, held_message(change_set), messages.INFO)
        elif change_set is not REFUSED:
            text = f"{len(orders)} order(s) {verb}."
            self.message_user(request, message_with_change_set(text, change_set), messages.SUCCESS)
        return None

    @action(description="Mark selected orders shipped", permissions=["change"])
    def bulk_ship(self, request, queryset):
        return self._bulk(request, queryset, OrderStatus.SHIPPED, "marked shipped")

    @action(description="Mark selected orders completed", permissions=["change"])
    def bulk_complete(self, request, queryset):
        return self._bulk(request, queryset, OrderStatus.COMPLETED, "completed")
