"""Nothing is lost and nothing blocks the page: a broker that is down when a message is recorded
leaves it waiting (the sweep hands it to a worker later); a worker that died while sending leaves
the message failed, not sent twice; a failure to record an e-mail never fails the page."""

from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from notifications import services
from notifications.models import Message
from orders.services import order_place

pytestmark = pytest.mark.django_db


def place(make_product, make_customer, capture):
    with capture(execute=True):
        return order_place(customer=make_customer(email="ada@example.com"), lines={make_product(): 1})


def test_a_message_recorded_while_the_broker_is_down_is_sent_by_the_sweep(
    mail_server, eager_tasks, make_product, make_customer, monkeypatch, django_capture_on_commit_callbacks
):
    from notifications.tasks import send_message

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to localhost:6379. Connection refused.")

    with monkeypatch.context() as patched:
        patched.setattr(send_message, "delay", broker_down)
        order = place(make_product, make_customer, django_capture_on_commit_callbacks)  # the page goes on

    message = Message.objects.get(order=order)
    assert message.state == "queued" and "Not handed to a worker yet" in message.last_error
    assert services.messages_resume() == (0, 0)  # not due long enough: its task may only be slow

    Message.objects.filter(pk=message.pk).update(due_at=timezone.now() - timedelta(minutes=10))
    assert services.messages_resume() == (1, 0)

    assert Message.objects.get(pk=message.pk).state == "sent"
    assert len(mail_server.received) == 1


def test_a_message_left_sending_by_a_dead_worker_is_failed_not_sent_again(
    mail_server, make_product, make_customer, django_capture_on_commit_callbacks
):
    place(make_product, make_customer, django_capture_on_commit_callbacks)  # no worker: stays queued
    Message.objects.update(state="sending", attempts=1, updated_at=timezone.now() - timedelta(minutes=30))

    assert services.messages_resume() == (0, 1)

    message = Message.objects.get()
    assert message.state == "failed" and "may or may not have gone out" in message.last_error
    assert services.message_deliver(message_id=message.pk).delivery == "not ours"
    assert mail_server.received == []


def test_a_failure_to_record_an_e_mail_never_fails_the_order(
    make_product, make_customer, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def database_trouble(**kwargs):
        raise RuntimeError("database trouble")

    monkeypatch.setattr("notifications.receivers.message_record", database_trouble)

    order = place(make_product, make_customer, django_capture_on_commit_callbacks)

    assert order.pk is not None and not Message.objects.exists()
    assert f"Could not record the e-mail for order_placed:{order.pk}" in caplog.text
