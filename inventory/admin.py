from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Value
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from unfold.contrib.filters.admin import (
    AutocompleteSelectFilter,
    BooleanRadioFilter,
    RadioFilter,
)
from unfold.decorators import action
from unfold.enums import ActionVariant

from audit.history_admin import HistoryAdmin, message_with_change_set
from audit.versioned_admin import edited_rows
from core.admin_base import (
    REFUSED,
    LabelledTabularInline,
    action_confirmation,
    held_message,
    is_held,
    redirect_from_dialog,
)
from core.cells import display
from core.export_admin import ExportAdminMixin
from core.filters import DayRangeFilter
from core.money import format_money
from core.pagination import related_count
from core.search import indexed_search
from imports.import_views import ImportAdminMixin

from . import services
from .forms import ProductAdminForm, StockAdjustmentBulkForm, StockAdjustmentDialogForm
from .ledger_admin import StockMovementAdmin, StockMovementInline
from .models import Category, Product, ProductImage
from .resources import CategoryResource, ProductResource
from .selectors import product_flag_approval, product_flag_effects
from .stock_state import StockState

STOCK_BADGE_COLOURS = {
    StockState.OUT: "danger",
    StockState.LOW: "warning",
    StockState.OK: "success",
}


class StockStateFilter(RadioFilter):
    title = "stock"
    parameter_name = "stock_state"

    def lookups(self, request, model_admin):
        return StockState.choices

    def queryset(self, request, queryset):
        if self.value() in StockState.values:
            return queryset.with_stock_state(self.value())
        return queryset


@admin.register(Category)
class CategoryAdmin(ImportAdminMixin, ExportAdminMixin, HistoryAdmin):
    import_resource = "categories"
    resource_classes = [CategoryResource]
    list_display = ["name", "parent", "slug", "product_count"]
    list_display_phone = ["name", "product_count"]  # what fits a phone (390 px)
    list_select_related = ["parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]
    fields = ["name", "slug", "parent", "description"]
    delete_blocker = staticmethod(services.category_delete_blocker)
    create_service = staticmethod(services.category_create)
    update_service = staticmethod(services.category_update)
    delete_service = staticmethod(services.category_delete)

    def get_queryset(self, request):
        # Exact counts for a small catalogue; the planner's statistics for a big one (counting a
        # million products on every view of this list took seconds).
        count, estimated = related_count(Category, Product, "category")
        return super().get_queryset(request).annotate(product_count=count, counts_estimated=Value(estimated))

    @display(description="Products", ordering="product_count")
    def product_count(self, obj):
        return f"about {obj.product_count:,}" if obj.counts_estimated else obj.product_count


class ProductImageInline(LabelledTabularInline):
    """The product's images, in the order the shop shows them: drag a row to move it (Unfold's
    sortable inline writes the new order into ``position``)."""

    model = ProductImage
    fields = ["preview", "image", "url", "alt_text", "position"]
    readonly_fields = ["preview"]
    extra = 0
    ordering_field = "position"
    hide_ordering_field = True

    @display(description="Preview")
    def preview(self, obj):
        if not obj or not obj.source:
            return "—"
        return format_html(
            '<img src="{}" alt="{}" class="bo-thumbnail" loading="lazy">', obj.source, obj.alt_text
        )


@admin.register(Product)
class ProductAdmin(ImportAdminMixin, ExportAdminMixin, HistoryAdmin):
    import_resource = "products"
    resource_classes = [ProductResource]
    list_display = [
        "name",
        "sku",
        "category",
        "price_money",
        "stock_badge",
        "published_badge",
        "featured_badge",
    ]
    list_display_links = ["name", "sku"]
    list_display_phone = ["name", "stock_badge", "published_badge"]  # what fits a phone (390 px)
    list_select_related = ["category"]
    list_filter = [
        ("is_published", BooleanRadioFilter),
        ("is_featured", BooleanRadioFilter),
        StockStateFilter,
        ("category", AutocompleteSelectFilter),  # options load when opened (40+ categories)
        ("created_at", DayRangeFilter),
    ]
    search_fields = ["sku", "name"]
    search_help_text = "The start of a SKU, or words of the name."
    ordering = ["name"]
    autocomplete_fields = ["category"]
    inlines = [ProductImageInline, StockMovementInline]
    readonly_fields = ["stock", "created_at", "updated_at", "popularity_score"]
    prepopulated_fields = {"slug": ["name"]}
    form = ProductAdminForm
    fieldsets = [
        (None, {"fields": ["name", "sku", "category", "price", "why"]}),
        ("Details", {"fields": ["slug", "description"]}),
        ("Status", {"fields": ["is_published", "is_featured", "stock", "low_stock_threshold"]}),
        ("Metadata", {"fields": ["metadata"], "classes": ["collapse"]}),
        (
            "Timestamps",
            {"fields": ["created_at", "updated_at", "popularity_score"], "classes": ["collapse"]},
        ),
    ]
    actions = ["publish", "unpublish", "feature", "unfeature", "adjust_stock_selected"]
    actions_detail = ["adjust_stock", "as_of"]
    delete_blocker = staticmethod(services.product_delete_blocker)
    create_service = staticmethod(services.product_create)
    update_service = staticmethod(services.product_update)
    delete_service = staticmethod(services.product_delete)

    def get_search_results(self, request, queryset, search_term):
        return indexed_search(queryset, search_term, prefix={"sku": str.upper}, contains=["name"])

    def get_fieldsets(self, request, obj=None):
        if obj is not None:
            return self.fieldsets
        # A new product has nothing to approve: no reason box.
        first, *rest = self.fieldsets
        return [(first[0], {"fields": [name for name in first[1]["fields"] if name != "why"]}), *rest]

    def edit_reason(self, form, change: bool, names=None) -> str:
        reason = super().edit_reason(form, change, names)
        why = form.cleaned_data.get("why") if change else ""
        return f"{reason}: {why}" if why else reason

    def service_options(self, form) -> dict:
        return {"why": form.cleaned_data.get("why", "")}

    def save_formset(self, request, form, formset, change):
        formset.save(commit=False)  # nothing written: the admin's change message reads what it found
        if formset.model is not ProductImage:
            return  # the ledger's inline is read-only
        rows = edited_rows(request, formset)
        services.product_images_save(
            product=form.instance,
            changed=rows.changed,
            deleted=rows.deleted,
            added=rows.added,
            user=request.user,
        )

    def has_adjust_stock_permission(self, request, obj=None):
        return request.user.has_perm("inventory.adjust_stock")

    @display(description="Price", ordering="price")
    def price_money(self, obj):
        # The list's price column as money. Named apart from the model's field: Django's list shows a
        # field of that name before an admin method of the same name, as the bare number (1102.08).
        return format_html('<span class="whitespace-nowrap tabular-nums">{}</span>', format_money(obj.price))

    @display(description="Stock", ordering="stock", label=STOCK_BADGE_COLOURS)
    def stock_badge(self, obj):
        state = obj.stock_state
        text = state.label if state == StockState.OUT else f"{obj.stock} in stock"
        return state, text

    @display(description="Published", ordering="is_published", label={True: "success", False: "info"})
    def published_badge(self, obj):
        return obj.is_published, "Published" if obj.is_published else "Draft"

    @display(description="Featured", ordering="is_featured", boolean=True)
    def featured_badge(self, obj):
        return obj.is_featured

    # --- bulk actions: each goes through the catalogue service and writes history per row ------
    def _flag_action(self, request, queryset, flag: str, verb: str):
        page = action_confirmation(
            self,
            request,
            title=f"{services.PRODUCT_FLAGS[flag][2]} of the selected products",
            effects=product_flag_effects(queryset, flag),
            submit=services.PRODUCT_FLAGS[flag][2],
            approval=product_flag_approval(queryset, flag),
        )
        if page is not None:
            return page
        selected = queryset.count()
        change_set = self.run_service(
            request,
            lambda: services.product_set_flag(
                products=queryset.values_list("pk", flat=True),
                flag=flag,
                user=request.user,
                why=request.POST.get("why", ""),
            ),
        )
        if is_held(change_set):
            self.message_user(request, held_message(change_set), messages.INFO)
        elif change_set is not REFUSED:
            self.message_changed(request, change_set, selected, verb)
        return None

    @action(description="Publish selected products", permissions=["change"])
    def publish(self, request, queryset):
        return self._flag_action(request, queryset, "publish", "published")

    @action(description="Unpublish selected products", permissions=["change"])
    def unpublish(self, request, queryset):
        return self._flag_action(request, queryset, "unpublish", "unpublished")

    @action(description="Feature selected products", permissions=["change"])
    def feature(self, request, queryset):
        return self._flag_action(request, queryset, "feature", "featured")

    @action(description="Stop featuring selected products", permissions=["change"])
    def unfeature(self, request, queryset):
        return self._flag_action(request, queryset, "unfeature", "no longer featured")

    @action(description="Adjust stock of selected products", permissions=["adjust_stock"])
    def adjust_stock_selected(self, request, queryset):
        form = StockAdjustmentBulkForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            quantity, reason = form.cleaned_data["quantity"], form.cleaned_data["reason"]
            change_set = self.run_service(
                request,
                lambda: services.stock_adjust_many(
                    products=queryset.values_list("pk", flat=True),
                    quantity=quantity,
                    reason=reason,
                    user=request.user,
                ),
            )
            if is_held(change_set):
                self.message_user(request, held_message(change_set), messages.INFO)
            elif change_set is not REFUSED:
                text = f"Stock of {change_set.row_count} product(s) changed by {quantity:+d}."
                self.message_user(request, message_with_change_set(text, change_set), messages.SUCCESS)
            return None
        return TemplateResponse(
            request,
            "admin/inventory/product/adjust_stock.html",
            {
                **self.admin_site.each_context(request),
                "title": "Adjust stock of selected products",
                "opts": self.opts,
                "form": form,
                "products": queryset.order_by("name")[:50],
                "count": queryset.count(),
                "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @action(
        description="Adjust stock",
        permissions=["adjust_stock"],
        icon="inventory",
        variant=ActionVariant.PRIMARY,
        dialog={
            "title": "Adjust stock",
            "description": (
                "The change is written to the stock ledger with your reason. A big one may wait for another "
                "person's approval (the shop's rules)."
            ),
            "form_class": StockAdjustmentDialogForm,
            "form_submit_text": "Adjust stock",
        },
    )
    def adjust_stock(self, request, form, object_id):
        product = self.get_object(request, object_id)
        movement = self.run_service(
            request,
            lambda: services.stock_adjust(
                product=product,
                quantity=form.cleaned_data["quantity"],
                reason=form.cleaned_data["reason"],
                user=request.user,
            ),
        )
        if is_held(movement):
            self.message_user(request, held_message(movement), messages.INFO)
        elif movement is not REFUSED:
            self.message_user(request, *form.outcome(movement))
        return redirect_from_dialog(request, reverse("admin:inventory_product_change", args=[object_id]))


__all__ = ["CategoryAdmin", "ProductAdmin", "StockMovementAdmin"]
