"""A real SMTP server for the e-mail tests (aiosmtpd, on a free port of 127.0.0.1), and Celery run in
the test's thread (eager) for the tests that don't need a worker of their own."""

import socket
import threading
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller


class MailServer:
    """What an SMTP server does, with the failures a real one has: "try later" (451) for the next
    messages, a mailbox that doesn't exist (550), or not answering at all (stopped)."""

    def __init__(self):
        self.port = _free_port()
        self.received = []  # email.message.EmailMessage, in arrival order
        self.answer_later = 0  # answer 451 to the next n messages
        self.unknown_mailboxes = set()
        self.controller = None
        self.lock = threading.Lock()

    # aiosmtpd's handler hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.unknown_mailboxes:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.answer_later:
                self.answer_later -= 1
                return "451 4.3.0 Try again later"
            message = message_from_bytes(envelope.content, policy=policy.default)
            message.envelope_to = list(envelope.rcpt_tos)
            self.received.append(message)
        return "250 OK"

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mail_server(settings):
    """The production settings (SMTP, nothing kept) pointed at a real server of the test's own."""
    server = MailServer()
    server.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": server.port, "timeout": 5},
        }
    }
    settings.EMAIL_KEEP = False
    settings.DEFAULT_FROM_EMAIL = "orders@shop.test"
    yield server
    server.stop()


@pytest.fixture
def eager_tasks():
    """Tasks run where they are sent (Celery's eager mode): a message's task runs when the order's
    transaction commits, in the test's own transaction."""
    from backoffice.celery import app

    # Not task_eager_propagates: a retry is an exception the eager run handles by running again.
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content().replace("\r\n", "\n")
