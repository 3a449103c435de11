"""The outbox in the admin: staff read every message (to, subject, state, the message itself, its
HTML in a sandboxed frame); nobody changes it; an order's page lists the e-mails its customer got."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from backoffice.models import Tenant
from core.tenancy import activate
from notifications.models import Message
from orders.services import order_place, order_transition
from tests.admin_helpers import query_count

pytestmark = pytest.mark.django_db
OUTBOX = reverse("admin:notifications_message_changelist")


@pytest.fixture
def kept(settings, eager_tasks):
    """Development's settings: messages are written and kept, not sent."""
    settings.EMAIL_KEEP = True


def place(make_product, customer, capture, **kwargs):
    with capture(execute=True):
        return order_place(
            customer=customer, lines={make_product(name="Blue mug", price="10.00"): 1}, **kwargs
        )


def test_support_reads_a_confirmation_in_the_outbox(
    kept, client_for, support_user, make_product, make_customer, django_capture_on_commit_callbacks
):
    order = place(make_product, make_customer(email="ada@example.com"), django_capture_on_commit_callbacks)
    message = Message.objects.get()
    client = client_for(support_user)

    page = client.get(OUTBOX).content.decode()
    assert f"Your order {order.number} at Main shop" in page and "ada@example.com" in page
    assert "Kept, not sent" in page

    page = client.get(reverse("admin:notifications_message_change", args=[message.pk])).content.decode()
    html_url = reverse("admin:notifications_message_html", args=[message.pk])
    assert f'<iframe src="{html_url}" sandbox=""' in page
    assert "1 x Blue mug" in page  # the plain text, on the page itself
    assert reverse("admin:orders_order_change", args=[order.pk]) in page
    assert 'name="_save"' not in page  # read-only: nothing to save

    response = client.get(html_url)
    assert response.status_code == 200 and response["Content-Type"] == "text/html; charset=utf-8"
    assert "Thank you for your order" in response.content.decode()
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy and "frame-ancestors 'self'" in policy
    assert "script-src" not in policy  # no scripts at all (default-src 'none')
    assert response["X-Frame-Options"] == "SAMEORIGIN"


def test_the_order_page_lists_the_e_mails_its_customer_got(
    kept, client_for, support_user, make_product, make_customer, django_capture_on_commit_callbacks
):
    order = place(make_product, make_customer(email="ada@example.com"), django_capture_on_commit_callbacks)
    other = place(make_product, make_customer(email="ben@example.com"), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        order_transition(to="shipped", order=order)

    page = (
        client_for(support_user).get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    )

    assert "E-mails to the customer" in page
    assert f"Your order {order.number} is on its way" in page and f"Your order {order.number} at" in page
    assert f"Your order {other.number}" not in page
    for message in Message.objects.filter(order=order):
        assert reverse("admin:notifications_message_change", args=[message.pk]) in page


def test_nobody_changes_the_outbox(
    kept, client_for, superuser, make_product, make_customer, django_capture_on_commit_callbacks
):
    place(make_product, make_customer(), django_capture_on_commit_callbacks)
    message = Message.objects.get()
    client = client_for(superuser)

    assert (
        client.post(
            reverse("admin:notifications_message_change", args=[message.pk]), {"subject": "x"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("admin:notifications_message_delete", args=[message.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert client.get(reverse("admin:notifications_message_add")).status_code == 403
    assert Message.objects.get().subject == message.subject


def test_staff_without_the_permission_and_other_shops_see_nothing(
    kept, client_for, support_user, make_product, make_customer, django_capture_on_commit_callbacks
):
    place(make_product, make_customer(), django_capture_on_commit_callbacks)
    message = Message.objects.get()
    html_url = reverse("admin:notifications_message_html", args=[message.pk])
    stranger = get_user_model().objects.create_user(username="nogroup", password="x", is_staff=True)

    assert client_for(stranger).get(html_url).status_code == 403
    acme = Tenant.objects.create(name="Acme", subdomain="acme")
    acme.members.add(support_user)
    client = client_for(support_user)
    with activate(acme):
        assert client.get(html_url, HTTP_HOST="acme.localhost").status_code == 404
        change = reverse("admin:notifications_message_change", args=[message.pk])
        assert client.get(change, HTTP_HOST="acme.localhost").status_code == 404
        assert "Your order" not in client.get(OUTBOX, HTTP_HOST="acme.localhost").content.decode()


def test_find_messages_by_recipient_or_order_number_and_state(
    kept, client_for, auditor, make_product, make_customer, settings, django_capture_on_commit_callbacks
):
    ada = place(make_product, make_customer(email="ada@example.com"), django_capture_on_commit_callbacks)
    place(make_product, make_customer(email="ben@example.com"), django_capture_on_commit_callbacks)
    client = client_for(auditor)

    def found(**query):
        return {m.recipient for m in client.get(OUTBOX, query).context["cl"].result_list}

    assert found(q="ADA@") == {"ada@example.com"}
    assert found(q=str(ada.pk)) == found(q=ada.number) == {"ada@example.com"}
    assert found(state__in="kept") == {"ada@example.com", "ben@example.com"}
    assert found(state__in="failed") == set()


def test_the_outbox_runs_the_same_few_queries_for_10_and_100_rows(
    kept, client_for, superuser, make_product, make_customer, django_capture_on_commit_callbacks
):
    for _ in range(12):
        place(make_product, make_customer(), django_capture_on_commit_callbacks)
    client = client_for(superuser)

    ten = query_count(client, OUTBOX, model=Message, per_page=10)
    assert query_count(client, OUTBOX, model=Message, per_page=100) == ten <= 10


def test_the_shops_superuser_sets_its_sender_name_and_reply_to(client_for, superuser):
    shop = Tenant.objects.get(subdomain="main")
    url = reverse("admin:backoffice_tenant_change", args=[shop.pk])
    page = client_for(superuser).get(url).content.decode()
    assert "E-mail sender name" in page and "E-mail reply-to address" in page

    response = client_for(superuser).post(
        url,
        {
            "name": shop.name,
            "subdomain": shop.subdomain,
            "is_active": "on",
            "email_sender_name": "Main Street Orders",
            "email_reply_to": "help@main.test",
        },
    )

    assert response.status_code == 302
    shop.refresh_from_db()
    assert (shop.sender_name, shop.email_reply_to) == ("Main Street Orders", "help@main.test")
