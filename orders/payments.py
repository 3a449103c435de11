"""The payment gateway interface. The real one is outside the system; tests replace it with a mock.

``settings.PAYMENT_GATEWAY`` names the class; ``FakePaymentGateway`` (default) approves everything
and hands out references, so the demo and the benchmarks run without a provider.
"""

import uuid
from decimal import Decimal
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from core.exceptions import DomainError


class PaymentError(DomainError):
    pass


class PaymentGateway(Protocol):
    def charge(self, *, amount: Decimal, currency: str, description: str) -> str:
        """Take the money; return the provider's payment reference or raise ``PaymentError``."""

    def refund(self, *, payment_reference: str, amount: Decimal, currency: str) -> str:
        """Give ``amount`` back on an earlier payment; return the refund's reference."""


class FakePaymentGateway:
    def charge(self, *, amount, currency, description):
        if amount < 0:
            raise PaymentError("Can't charge a negative amount.")
        return f"fake_ch_{uuid.uuid4().hex[:16]}"

    def refund(self, *, payment_reference, amount, currency):
        return f"fake_re_{uuid.uuid4().hex[:16]}"


@cache
def _gateway_class(path: str):
    return import_string(path)


def payment_gateway() -> PaymentGateway:
    return _gateway_class(settings.PAYMENT_GATEWAY)()
