"""The e-mail's way as in production: the order's transaction commits, a Celery worker (embedded in
the test process, on a private file-system queue) writes the message and sends it to a real SMTP
server; a server that fails or is down is tried again until it answers, and the message goes out once.

The worker needs the data the test commits, so these tests use real transactions (PostgreSQL).
"""

import time

import pytest
from django.db import transaction

from notifications.models import Message
from notifications.tasks import send_message
from orders.services import order_place
from tests.celery_helpers import embedded_worker, filesystem_broker

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path, settings, mail_server):
    settings.EMAIL_RETRY_SECONDS = 0.2  # then 0.4, 0.8, ... (less up to a quarter)
    settings.EMAIL_RETRY_MAX_SECONDS = 1
    with embedded_worker(*filesystem_broker(tmp_path / "queue")) as running:
        yield running


def wait_for(check, *, timeout=30.0, what="the outbox"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(
        f"{what} never got there: {list(Message.objects.values('state', 'attempts', 'last_error'))}"
    )


def message_in(*states):
    return lambda: Message.objects.filter(state__in=states).first()


def test_a_server_answering_try_later_is_retried_and_the_message_sent_once(
    worker, mail_server, make_product, make_customer
):
    mail_server.answer_later = 2
    order = order_place(customer=make_customer(email="ada@example.com"), lines={make_product(): 1})

    message = wait_for(message_in("sent", "failed"))

    assert (message.state, message.attempts, message.order_id) == ("sent", 3, order.pk)
    assert message.last_error == ""
    assert [m.envelope_to for m in mail_server.received] == [["ada@example.com"]]
    assert mail_server.received[0]["Subject"] == f"Your order {order.number} at Main shop"


def test_a_server_that_is_down_gets_the_message_once_it_is_back(
    worker, mail_server, make_product, make_customer
):
    mail_server.stop()
    order_place(customer=make_customer(email="ben@example.com"), lines={make_product(): 1})

    waiting = wait_for(message_in("retrying"))
    assert "Connection refused" in waiting.last_error and waiting.due_at > waiting.created_at
    mail_server.start()
    message = wait_for(message_in("sent", "failed"))

    assert message.state == "sent" and message.attempts >= 2
    assert [m.envelope_to for m in mail_server.received] == [["ben@example.com"]]


def test_a_rolled_back_order_sends_nothing_and_a_task_delivered_twice_sends_once(
    worker, mail_server, make_product, make_customer
):
    mug = make_product(stock=10)
    with pytest.raises(RuntimeError), transaction.atomic():
        # Payment on delivery: a charge is never made inside a transaction (the provider is called
        # between the order service's own transactions), so only an unpaid order can be rolled back.
        order_place(customer=make_customer(email="rolled@example.com"), lines={mug: 1}, charge=False)
        raise RuntimeError("the request failed after placing the order")
    first = order_place(customer=make_customer(email="first@example.com"), lines={mug: 1})
    message = wait_for(message_in("sent"))
    send_message.delay(message.pk, message.tenant_id)  # the same task again (a broker redelivering it)
    # A later message, queued behind the duplicate: once it is sent, the duplicate has been handled.
    order_place(customer=make_customer(email="second@example.com"), lines={mug: 1})
    wait_for(lambda: Message.objects.filter(state="sent").count() == 2)

    assert [m.envelope_to for m in mail_server.received] == [["first@example.com"], ["second@example.com"]]
    assert Message.objects.get(order=first).attempts == 1
    assert Message.objects.count() == 2
