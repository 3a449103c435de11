"""Every admin URL of every registered model, as every role, against an explicit allow/deny table.

S = superuser, O = operations, U = support, A = auditor. A view is "allowed" when the page answers
200 (or the action is offered and does its work); "denied" when it answers 403 / isn't offered, and
then nothing in the database changes.
"""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from imports.models import ImportJob, ImportMapping
from inventory.services import stock_adjust
from notifications.services import message_record
from orders.services import order_place

pytestmark = pytest.mark.django_db

# Who may do what, per model. Views: list, add, change (GET: see the page), save (POST to the change
# page), delete, history.
VIEWS = ("list", "add", "change", "save", "delete", "history")
# fmt: off
TABLE = {
    #                            list    add     change  save    delete  history
    "inventory.category":        ("SOUA", "SO"  , "SOUA", "SO"  , "S"   , "SOUA"),
    "inventory.product":         ("SOUA", "SO"  , "SOUA", "SO"  , "S"   , "SOUA"),
    "inventory.stockmovement":   ("SOA" , ""    , "SOA" , ""    , ""    , "SOA" ),
    "imports.importjob":         ("SOA" , ""    , "SOA" , ""    , ""    , "SOA" ),
    # Saved column mappings: seen and deleted by who may import what they map (a products one here).
    "imports.importmapping":     ("SOU" , ""    , "SO"  , ""    , "SO"  , "SO"  ),
    "orders.order":              ("SOUA", "SU"  , "SOUA", "SU"  , ""    , "SOUA"),
    "orders.orderitem":          ("SOUA", ""    , "SOUA", ""    , ""    , "SOUA"),
    "orders.payment":            ("SOUA", ""    , "SOUA", ""    , ""    , "SOUA"),
    "orders.customer":           ("SOUA", "SU"  , "SOUA", "SU"  , ""    , "SOUA"),
    "audit.auditentry":          ("SA"  , ""    , "SA"  , ""    , ""    , "SA"  ),
    "audit.changeset":           ("SOUA", ""    , "SOUA", ""    , ""    , "SOUA"),
    "auth.user":                 ("SA"  , "S"   , "SA"  , "S"   , "S"   , "SA"  ),
    "auth.group":                ("SA"  , "S"   , "SA"  , "S"   , "S"   , "SA"  ),
    "axes.accessattempt":        ("SA"  , ""    , "SA"  , "S"   , "S"   , "SA"  ),
    "axes.accesslog":            ("SA"  , ""    , "SA"  , "S"   , "S"   , "SA"  ),
    "axes.accessfailurelog":     ("SA"  , ""    , "SA"  , "S"   , "S"   , "SA"  ),
    "backoffice.tenant":         ("S"   , "S"   , "S"   , "S"   , ""    , "S"   ),
    "notifications.message":     ("SOUA", ""    , "SOUA", ""    , ""    , "SOUA"),
    # The fixture's request is operations': support sees only its own requests.
    "approvals.changerequest":   ("SOUA", ""    , "SOA" , ""    , ""    , "SOA" ),
    "approvals.approvalrule":    ("SOUA", "S"   , "SOUA", "S"   , "S"   , "SOUA"),
}
# fmt: on
MATRIX = {label: dict(zip(VIEWS, roles, strict=True)) for label, roles in TABLE.items()}
# Actions on the list (bulk) and on one record's page (detail): who may run them.
BULK_ACTIONS = {
    "inventory.product": {
        "publish": "SO",
        "unpublish": "SO",
        "feature": "SO",
        "unfeature": "SO",
        "adjust_stock_selected": "SO",
        "delete_selected": "S",
    },
    "inventory.category": {"delete_selected": "S"},
    "orders.order": {"bulk_ship": "SU", "bulk_complete": "SU", "bulk_cancel": "SU"},
    "auth.user": {"delete_selected": "S"},
    "auth.group": {"delete_selected": "S"},
    "axes.accessattempt": {"delete_selected": "S", "cleanup_expired_attempts": "S"},
    "axes.accesslog": {"delete_selected": "S"},
    "axes.accessfailurelog": {"delete_selected": "S"},
}
DETAIL_ACTIONS = {
    "inventory.product": {"adjust_stock": "SO", "as_of": "SOUA"},
    # The fixture's order is paid: its page offers only the transitions a paid order allows.
    "orders.order": {"ship": "SU", "cancel": "SU", "refund": "SU", "as_of": "SOUA"},
    # Operations asked for it: others approve or reject it (superusers may), only they withdraw it.
    "approvals.changerequest": {"approve": "S", "reject": "S", "withdraw": "O"},
}
TRACKED_APPS = (
    "inventory",
    "imports",
    "orders",
    "audit",
    "approvals",
    "auth",
    "axes",
    "backoffice",
    "notifications",
)


@pytest.fixture
def users(superuser, ops_user, support_user, auditor):
    return {"S": superuser, "O": ops_user, "U": support_user, "A": auditor}


@pytest.fixture
def one_of_each(make_product, make_customer, superuser, ops_user):
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    from approvals.models import ApprovalRule
    from approvals.services import approval_rule_create

    product = make_product(stock=50)
    stock_adjust(product=product, quantity=1, reason="Count", user=superuser)
    approval_rule_create(approvalrule=ApprovalRule(kind="stock_units", threshold=100), user=superuser)
    stock_adjust(product=product, quantity=500, reason="Delivery", user=ops_user)  # waits for approval
    order = order_place(customer=make_customer(), lines={product: 1})
    message_record(tenant_id=order.tenant_id, kind="order_placed", event_key="order_placed:x", order=order)
    ImportJob.objects.create(resource="products", file="imports/x.csv", file_name="x.csv")
    ImportMapping.objects.create(resource="products", name="Supplier", columns={"title": "name"})
    AccessAttempt.objects.create(
        username="x",
        ip_address="10.0.0.1",
        failures_since_start=1,
        get_data="",
        post_data="",
        user_agent="t",
        path_info="/",
        http_accept="*",
    )
    AccessLog.objects.create(
        username="x", ip_address="10.0.0.1", user_agent="t", path_info="/", http_accept="*"
    )
    AccessFailureLog.objects.create(
        username="x", ip_address="10.0.0.1", user_agent="t", path_info="/", http_accept="*", locked_out=False
    )
    from audit.models import ChangeSet

    ChangeSet.objects.create(kind="bulk_action", title="Bulk publish", user=superuser, row_count=0)


def database_fingerprint():
    """Every row of every table the admin can reach, to prove a refused request changed nothing."""
    rows = {}
    for model in apps.get_models():
        if model._meta.app_label in TRACKED_APPS and model._meta.model_name != "accesslog":
            rows[model._meta.label] = list(model.objects.order_by("pk").values_list())
    return rows


def registered():
    return {f"{m._meta.app_label}.{m._meta.model_name}": m for m in admin.site._registry}


def url(label, view, *args):
    app, model = label.split(".")
    return reverse(f"admin:{app}_{model}_{view}", args=args)


def test_the_matrix_covers_every_registered_model():
    assert set(registered()) == set(MATRIX)


@pytest.mark.parametrize("label", sorted(MATRIX))
def test_pages_as_each_role(label, users, one_of_each, client):
    model = registered()[label]
    obj = model.objects.order_by("pk").first()
    assert obj is not None, f"no {label} to test with"
    for role, user in users.items():
        client.force_login(user)
        expected = MATRIX[label]
        for view, path in (
            ("list", url(label, "changelist")),
            ("add", url(label, "add")),
            ("change", url(label, "change", obj.pk)),
            ("delete", url(label, "delete", obj.pk)),
            ("history", url(label, "history", obj.pk)),
        ):
            status = client.get(path).status_code
            allowed = role in expected[view]
            assert status == (200 if allowed else 403), f"{role} GET {view} {label}: {status}"


@pytest.mark.parametrize("label", sorted(MATRIX))
def test_writes_as_each_role(label, users, one_of_each, client):
    model = registered()[label]
    obj = model.objects.order_by("pk").first()
    for role, user in users.items():
        client.force_login(user)
        expected = MATRIX[label]
        for view, path in (
            ("save", url(label, "change", obj.pk)),
            ("delete", url(label, "delete", obj.pk)),
            ("add", url(label, "add")),
        ):
            if role in expected[view]:
                continue  # allowed writes are covered by each feature's own tests
            before = database_fingerprint()
            response = client.post(path, {"post": "yes", "name": "x", "quantity": "1"})
            assert response.status_code == 403, f"{role} POST {view} {label}: {response.status_code}"
            assert database_fingerprint() == before, f"{role} POST {view} {label} changed the database"


@pytest.mark.parametrize("label", sorted(BULK_ACTIONS))
def test_bulk_actions_are_offered_only_to_roles_that_may_run_them(label, users, one_of_each, client):
    model = registered()[label]
    obj = model.objects.order_by("pk").first()
    for role, user in users.items():
        client.force_login(user)
        page = client.get(url(label, "changelist"))
        form = page.context["action_form"] if page.status_code == 200 else None
        offered = {name for name, _ in form.fields["action"].choices if name} if form else set()
        for name, allowed_roles in BULK_ACTIONS[label].items():
            assert (name in offered) == (role in allowed_roles), f"{role} {label} action {name}"
            if role not in allowed_roles:
                before = database_fingerprint()
                client.post(
                    url(label, "changelist"),
                    {
                        "action": name,
                        "_selected_action": [obj.pk],
                        "apply": "1",
                        "quantity": "1",
                        "reason": "x",
                        "post": "yes",
                    },
                )
                assert database_fingerprint() == before, f"{role} ran {name} on {label}"


@pytest.mark.parametrize("label", sorted(DETAIL_ACTIONS))
def test_detail_actions_as_each_role(label, users, one_of_each, client):
    model = registered()[label]
    obj = model.objects.order_by("pk").first()
    for role, user in users.items():
        client.force_login(user)
        page = client.get(url(label, "change", obj.pk)).content.decode()
        for name, allowed_roles in DETAIL_ACTIONS[label].items():
            try:
                path = url(label, name, obj.pk)
            except NoReverseMatch:
                pytest.fail(f"{label} has no detail action {name}")
            assert (path in page) == (role in allowed_roles), f"{role} sees {name} on {label}"
            if role not in allowed_roles:
                before = database_fingerprint()
                response = client.post(path, {"quantity": "1", "reason": "x", "_form_submitted": "1"})
                assert response.status_code == 403, f"{role} ran {name} on {label}: {response.status_code}"
                assert database_fingerprint() == before
