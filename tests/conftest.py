import itertools
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection

from backoffice.roles import APPROVER, AUDITOR, OPERATIONS, SUPPORT, setup_roles

_sequence = itertools.count(1)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_FILES_ROOT = tmp_path / "private"


@pytest.fixture(autouse=True)
def _default_tenant():
    """Every test runs in the default tenant, as a single-shop install does (resolved on first use:
    tests without database access never touch it)."""
    from django.utils.functional import SimpleLazyObject

    from core.tenancy import activate, default_tenant

    with activate(SimpleLazyObject(default_tenant)):
        yield


@pytest.fixture(scope="session", autouse=True)
def _celery_queue_of_the_run(tmp_path_factory):
    """Tasks that tests send without a worker (the e-mails of orders placed in transactional tests)
    go to a queue folder of the run, never to the project's var/celery/ (a demo worker would run them)."""
    from backoffice.celery import app
    from tests.celery_helpers import filesystem_broker, use_broker

    saved = app.conf.broker_url, app.conf.broker_transport_options
    use_broker(app, *filesystem_broker(tmp_path_factory.mktemp("celery-queue")))
    yield
    use_broker(app, *saved)


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def roles(db):
    setup_roles()


def _staff(username, *roles, superuser=False):
    user = get_user_model().objects.create_user(
        username=username, password="pw-" + username, is_staff=True, is_superuser=superuser
    )
    if roles:
        user.groups.add(*Group.objects.filter(name__in=roles))
    return user


@pytest.fixture
def superuser(roles):
    return _staff("boss", superuser=True)


@pytest.fixture
def ops_user(roles):
    return _staff("olivia", OPERATIONS)


@pytest.fixture
def support_user(roles):
    return _staff("sam", SUPPORT)


@pytest.fixture
def auditor(roles):
    return _staff("ada", AUDITOR)


@pytest.fixture
def approver(roles):
    """Bob, an operations lead: he works in operations and approves others' changes (four eyes)."""
    return _staff("bob", OPERATIONS, APPROVER)


@pytest.fixture
def client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


# --- data factories: through the services, as the product does it -------------------------------
@pytest.fixture
def make_category(db):
    from inventory.models import Category

    def make(name=None, parent=None):
        return Category.objects.create(name=name or f"Category {next(_sequence)}", parent=parent)

    return make


@pytest.fixture
def make_product(db, make_category):
    from inventory.models import Product
    from inventory.services import product_create

    default_category = []

    def make(*, stock=20, price="10.00", category=None, published=True, **fields):
        if category is None:
            if not default_category:
                default_category.append(make_category("General"))
            category = default_category[0]
        n = next(_sequence)
        fields.setdefault("name", f"Product {n}")
        fields.setdefault("sku", f"SKU-{n:05d}")
        product = Product(category=category, price=Decimal(price), is_published=published, **fields)
        return product_create(product=product, stock=stock)

    return make


@pytest.fixture
def make_customer(db):
    from orders.models import Customer

    def make(**fields):
        n = next(_sequence)
        fields.setdefault("name", f"Customer {n}")
        fields.setdefault("email", f"customer{n}@example.com")
        fields.setdefault("default_shipping_address", f"{n} Test Street\nSpringfield")
        return Customer.objects.create(**fields)

    return make


@pytest.fixture(scope="session", autouse=True)
def _no_session_left_on_the_test_database(django_db_setup, django_db_blocker):
    """Sessions still open on the test database when the run ends stop it from being dropped: the
    embedded Celery worker's thread keeps its connection (CONN_MAX_AGE), and queries a browser test
    makes while Playwright's event loop runs go through a connection of their own."""
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
