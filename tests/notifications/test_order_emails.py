"""Customers get an e-mail when their order is placed, paid (if left to pay later), shipped, refunded
or cancelled: one message per event, through a real SMTP server, with the shop's name, sender and
reply-to address, in plain text and HTML."""

import pytest
from django.db import transaction

from core.tenancy import current_tenant
from notifications.models import Message
from orders.services import order_bulk_transition, order_pay, order_place, order_refund, order_ship
from tests.notifications.conftest import html_of, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(db):
    tenant = current_tenant()
    tenant.name = 'Tom & Jerry\'s "Corner" Shop'
    tenant.email_sender_name = ""
    tenant.email_reply_to = "help@corner.test"
    tenant.save()
    return tenant


@pytest.fixture
def ada(make_customer):
    return make_customer(
        name="Ada O'Brien", email="ada@example.com", default_shipping_address="1 High St\nSpringfield"
    )


def placed(make_product, customer, capture, **kwargs):
    lamp = make_product(name="Lamp <b>bright</b> & warm", price="12.50", stock=10)
    with capture(execute=True):
        return order_place(customer=customer, lines={lamp: 2}, **kwargs)


def test_a_placed_order_sends_one_confirmation_with_its_lines_and_total(
    mail_server, eager_tasks, shop, ada, make_product, django_capture_on_commit_callbacks
):
    order = placed(make_product, ada, django_capture_on_commit_callbacks)

    [sent] = mail_server.received
    assert sent.envelope_to == ["ada@example.com"]
    assert sent["Subject"] == f'Your order {order.number} at Tom & Jerry\'s "Corner" Shop'
    assert sent["From"].addresses[0].display_name == 'Tom & Jerry\'s "Corner" Shop'
    assert sent["From"].addresses[0].addr_spec == "orders@shop.test"
    assert sent["Reply-To"] == "help@corner.test"
    text = text_of(sent)
    assert "Hello Ada O'Brien," in text  # plain text is not HTML-escaped
    assert f"2 x Lamp <b>bright</b> & warm ({order.items.get().product.sku}) at 12.50: 25.00" in text
    assert "We have received your payment of 27.00 USD." in text
    assert "Total: 27.00 USD" in text and "1 High St\nSpringfield" in text
    html = html_of(sent)
    assert "Lamp &lt;b&gt;bright&lt;/b&gt; &amp; warm" in html and "<b>bright</b>" not in html
    assert "Ada O&#x27;Brien" in html and "1 High St<br>Springfield" in html

    message = Message.objects.get()
    assert (message.state, message.attempts, message.order_id) == ("sent", 1, order.pk)
    assert message.sent_at is not None and message.subject == sent["Subject"]
    assert sent["Message-ID"] == message.message_id


def test_an_order_left_to_pay_later_says_so_and_its_payment_sends_a_second_message(
    mail_server, eager_tasks, shop, ada, make_product, django_capture_on_commit_callbacks
):
    order = placed(make_product, ada, django_capture_on_commit_callbacks, charge=False)
    with django_capture_on_commit_callbacks(execute=True):
        order_pay(order=order)

    confirmation, payment = mail_server.received
    assert "It waits for your payment of 27.00 USD." in text_of(confirmation)
    assert payment["Subject"] == f"Payment received for your order {order.number}"
    assert "We have received your payment of 27.00 USD for order" in text_of(payment)
    assert list(Message.objects.order_by("id").values_list("kind", flat=True)) == [
        "order_placed",
        "order_paid",
    ]


def test_shipping_then_refunding_tell_the_customer_with_the_amount(
    mail_server, eager_tasks, shop, ada, make_product, django_capture_on_commit_callbacks
):
    order = placed(make_product, ada, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        order_ship(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        order_refund(order=order, amount=order.total, reason="Lost in the post")

    _, shipped, refunded = mail_server.received
    assert shipped["Subject"] == f"Your order {order.number} is on its way"
    assert "It goes to:\n1 High St\nSpringfield" in text_of(shipped)
    assert refunded["Subject"] == f"Refund of 27.00 USD for your order {order.number}"
    assert "We have refunded 27.00 USD for your order" in text_of(refunded)


def test_a_cancellation_says_whether_money_was_given_back(
    mail_server, eager_tasks, shop, make_customer, make_product, django_capture_on_commit_callbacks
):
    paid = placed(make_product, make_customer(email="paid@example.com"), django_capture_on_commit_callbacks)
    unpaid = placed(
        make_product,
        make_customer(email="later@example.com"),
        django_capture_on_commit_callbacks,
        charge=False,
    )
    with django_capture_on_commit_callbacks(execute=True):
        order_bulk_transition(orders=[paid, unpaid], to="cancelled", reason="Out of stock")

    cancellations = {m.envelope_to[0]: m for m in mail_server.received[2:]}
    assert set(cancellations) == {"paid@example.com", "later@example.com"}
    assert "The 27.00 USD you paid has been refunded" in text_of(cancellations["paid@example.com"])
    assert "Nothing was charged." in text_of(cancellations["later@example.com"])
    assert cancellations["later@example.com"]["Subject"] == f"Your order {unpaid.number} was cancelled"


def test_an_order_rolled_back_sends_nothing(
    mail_server, eager_tasks, shop, ada, make_product, django_capture_on_commit_callbacks
):
    lamp = make_product(stock=10)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        # Payment on delivery: a charge is never made inside a transaction (the provider is called
        # between the order service's own transactions), so only an unpaid order can be rolled back.
        order_place(customer=ada, lines={lamp: 1}, charge=False)
        raise RuntimeError("the request failed after placing the order")

    assert mail_server.received == [] and not Message.objects.exists()


def test_an_event_announced_twice_and_a_task_delivered_twice_send_one_message(
    mail_server, eager_tasks, shop, ada, make_product, django_capture_on_commit_callbacks
):
    from notifications.receivers import _order_placed
    from notifications.tasks import send_message

    order = placed(make_product, ada, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        _order_placed(sender=None, order=order)  # the same event again
    message = Message.objects.get()
    again = send_message.apply(args=[message.pk, message.tenant_id]).get()  # the task delivered again

    assert again == "not ours"
    assert len(mail_server.received) == 1
    assert Message.objects.get().attempts == 1


def test_a_mailbox_that_does_not_exist_fails_at_once_and_says_why(
    mail_server, eager_tasks, shop, make_customer, make_product, django_capture_on_commit_callbacks
):
    mail_server.unknown_mailboxes.add("nobody@example.com")
    placed(make_product, make_customer(email="nobody@example.com"), django_capture_on_commit_callbacks)

    message = Message.objects.get()
    assert (message.state, message.attempts) == ("failed", 1)  # a 5xx answer is not retried
    assert "550 5.1.1 No such mailbox here" in message.last_error
    assert mail_server.received == []


def test_an_address_that_cannot_be_written_in_an_e_mail_fails_at_once(
    mail_server, eager_tasks, shop, make_customer, make_product, django_capture_on_commit_callbacks
):
    placed(
        make_product,
        make_customer(email="ada@example.com\nBcc: everyone@example.com"),
        django_capture_on_commit_callbacks,
    )

    message = Message.objects.get()
    assert (message.state, message.attempts) == ("failed", 1)
    assert message.last_error.startswith("It can't be sent:")
    assert mail_server.received == []


def test_a_server_that_keeps_failing_is_given_up_after_the_last_attempt(
    mail_server, eager_tasks, shop, ada, make_product, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_MAX_ATTEMPTS = 3
    mail_server.answer_later = 10
    placed(make_product, ada, django_capture_on_commit_callbacks)

    message = Message.objects.get()
    assert (message.state, message.attempts) == ("failed", 3)
    assert message.last_error == "Gave up after 3 attempts: 451 4.3.0 Try again later"
    assert mail_server.received == []


def test_in_development_messages_are_kept_in_the_outbox_not_sent(
    mail_server, eager_tasks, shop, ada, make_product, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_KEEP = True
    order = placed(make_product, ada, django_capture_on_commit_callbacks)

    message = Message.objects.get()
    assert message.state == "kept" and message.sent_at is not None
    assert message.subject == f'Your order {order.number} at Tom & Jerry\'s "Corner" Shop'
    assert "Thank you for your order" in message.body_html and "2 x Lamp" in message.body_text
    assert mail_server.received == []


def test_each_shop_sends_under_its_own_name_and_reply_to_address(
    mail_server, eager_tasks, make_customer, make_product, django_capture_on_commit_callbacks
):
    from backoffice.models import Tenant
    from core.tenancy import activate

    acme = Tenant.objects.create(
        name="Acme", subdomain="acme", email_sender_name="Acme Orders", email_reply_to="care@acme.test"
    )
    with activate(acme):
        order = placed(
            make_product, make_customer(email="wile@example.com"), django_capture_on_commit_callbacks
        )
        assert Message.objects.get().order_id == order.pk

    [sent] = mail_server.received
    assert str(sent["From"]) == "Acme Orders <orders@shop.test>"
    assert sent["Reply-To"] == "care@acme.test"
    assert sent["Subject"] == f"Your order {order.number} at Acme"
    assert not Message.objects.exists()  # the default shop's outbox doesn't list Acme's


def test_each_partial_refund_tells_the_customer_its_amount(
    mail_server, eager_tasks, shop, ada, make_product, django_capture_on_commit_callbacks
):
    from decimal import Decimal

    order = placed(make_product, ada, django_capture_on_commit_callbacks)
    for amount in ("5.00", "2.50"):
        with django_capture_on_commit_callbacks(execute=True):
            order_refund(order=order, amount=Decimal(amount), reason="Goodwill")

    refunds = [m for m in mail_server.received if m["Subject"].startswith("Refund")]
    assert [m["Subject"] for m in refunds] == [
        f"Refund of 5.00 USD for your order {order.number}",
        f"Refund of 2.50 USD for your order {order.number}",
    ]
