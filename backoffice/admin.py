"""Django's and django-axes's own admins, dressed in Unfold like the rest of the back office."""

from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import Count
from unfold.admin import ModelAdmin
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from core.admin_base import action_confirmation
from core.cells import display
from core.tenancy import current_tenant, tenant_staff

from .models import Tenant

for model in (User, Group, AccessAttempt, AccessLog, AccessFailureLog):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(User)
class UserAdmin(DjangoUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "is_superuser", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups", "tenants"]

    # Staff of the open shop only (its list, its users' pages and every autocomplete of users, which
    # reads this queryset); superusers, who manage every shop, see everyone.
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(tenant_staff(current_tenant()))

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        return filters if request.user.is_superuser else [f for f in filters if f != "tenants"]


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin, ModelAdmin):
    pass


@admin.register(AccessAttempt)
class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin, ModelAdmin):
    """Login lock-outs: a superuser sees who is locked out and clears a lock by deleting it."""

    # axes offers this clean-up to anyone who can see the list; it deletes rows, so it needs the
    # delete permission (auditors only read).
    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(self, request, queryset):
        page = action_confirmation(
            self,
            request,
            title="Clean up expired attempts",
            effects=(
                "Delete every recorded login attempt whose cool-off period is over (whatever is selected); "
                "current lock-outs stay."
            ),
            submit="Clean up",
        )
        if page is not None:
            return page
        return super().cleanup_expired_attempts(request, queryset)


@admin.register(AccessLog)
class AccessLogAdmin(axes_admin.AccessLogAdmin, ModelAdmin):
    pass


@admin.register(AccessFailureLog)
class AccessFailureLogAdmin(axes_admin.AccessFailureLogAdmin, ModelAdmin):
    pass


@admin.register(Tenant)
class TenantAdmin(ModelAdmin):
    """Shops, managed by superusers: create, deactivate (its subdomain then answers 404), members."""

    list_display = ["name", "subdomain", "is_active", "member_count", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "subdomain"]
    filter_horizontal = ["members"]
    fieldsets = [
        (None, {"fields": ["name", "subdomain", "is_active", "members"]}),
        ("E-mail", {"fields": ["email_sender_name", "email_reply_to"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("members"))

    @display(description="Members", ordering="member_count")
    def member_count(self, obj):
        return obj.member_count

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False  # a shop with data is deactivated, never deleted
