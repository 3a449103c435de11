"""The staff roles and their exact permissions.

``python manage.py setup_roles`` applies this table (it also runs after every ``migrate``); it is
idempotent and removes any permission a group holds that the table doesn't give it.
"""

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db.models.signals import post_migrate
from django.dispatch import receiver

OPERATIONS, SUPPORT, AUDITOR, APPROVER = "Operations", "Support", "Auditor", "Approver"

CATALOGUE = ["inventory.category", "inventory.product", "inventory.productimage"]
ORDERS = ["orders.order", "orders.orderitem", "orders.customer", "orders.payment"]
LEDGERS = ["inventory.stockmovement", "imports.importjob", "audit.auditentry", "audit.changeset"]
# Change requests (what a shop's rules held for a second person's approval) and the rules themselves.
APPROVALS = ["approvals.changerequest", "approvals.approvalrule"]
# The e-mails sent to customers and staff: read by every role, written by no one (workers send them).
OUTBOX = ["notifications.message"]
ADMINISTRATION = [
    "auth.user",
    "auth.group",
    "axes.accessattempt",
    "axes.accessfailurelog",
    "axes.accesslog",
]


def _perms(actions: str, models: list[str]) -> set[str]:
    return {
        f"{model.split('.')[0]}.{action}_{model.split('.')[1]}"
        for model in models
        for action in actions.split()
    }


ROLE_PERMISSIONS: dict[str, set[str]] = {
    # Keep the catalogue and stock right, run imports; read orders and customers.
    OPERATIONS: (
        _perms("view add change", CATALOGUE)
        | _perms("view", ["inventory.stockmovement", "imports.importjob"])
        | {"imports.add_importjob", "inventory.adjust_stock", "inventory.import_product"}
        | _perms("view", ORDERS)
        # Their bulk actions and imports are change sets: they see them, and may undo their own kind.
        | {"audit.view_changeset"}
        | _perms("view", OUTBOX)
        # Their own change requests ("My requests"), and the rules that hold changes.
        | _perms("view", APPROVALS)
    ),
    # Look up, take (drafts, placed by phone or e-mail) and edit customers' orders, lines and money
    # included (refunds, returns, cancellations); read the payments ledger and the catalogue.
    SUPPORT: (
        _perms("view change", ["orders.order", "orders.customer"])
        | {"orders.add_order", "orders.view_payment"}
        | _perms("view add change delete", ["orders.orderitem"])
        | {"orders.add_customer"}
        | _perms("view", ["inventory.category", "inventory.product"])
        | {"audit.view_changeset"}
        # What the customers were sent.
        | _perms("view", OUTBOX)
        | _perms("view", APPROVALS)
    ),
    # Read everything, history and the audit log included; change nothing.
    AUDITOR: _perms("view", CATALOGUE + ORDERS + LEDGERS + OUTBOX + ADMINISTRATION + APPROVALS),
    # The second pair of eyes: given on top of a working role (an operations or support lead), never
    # instead of it. Approves or rejects others' change requests (never their own: the service refuses)
    # and reads the change sets approvals record.
    APPROVER: (_perms("view", APPROVALS) | {"approvals.approve_changerequest", "audit.view_changeset"}),
}


def setup_roles(verbosity: int = 1, stdout=None) -> dict[str, int]:
    """Create or update the role groups so they hold exactly ``ROLE_PERMISSIONS``."""
    counts = {}
    for role, wanted in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        by_key = {}
        for perm in Permission.objects.select_related("content_type").filter(
            content_type__app_label__in={key.split(".")[0] for key in wanted}
        ):
            by_key[f"{perm.content_type.app_label}.{perm.codename}"] = perm
        missing = sorted(wanted - set(by_key))
        if missing and stdout is not None and verbosity:
            stdout.write(f"{role}: permissions not installed yet: {', '.join(missing)}")
        group.permissions.set([by_key[key] for key in wanted if key in by_key])
        counts[role] = len(wanted) - len(missing)
    return counts


@receiver(post_migrate)
def _apply_roles_after_migrate(sender, app_config=None, **kwargs):
    # Once per migrate run: after the last app's post_migrate, every permission exists.
    last_app = [config for config in apps.get_app_configs() if config.models_module][-1]
    if app_config is not None and app_config.label == last_app.label:
        setup_roles()
