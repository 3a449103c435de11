from decimal import Decimal

import pytest

from orders.payments import FakePaymentGateway, GatewayUnavailable


class FlakyGateway(FakePaymentGateway):
    """The payment provider is outside the system: this is the fake one (which refuses what a real one
    refuses and keeps its records where every process sees them), failing on command.

    ``fail(operation, how)`` makes the next ``charge``, ``refund`` or ``lookup`` fail: ``decline``
    (the provider refuses, and remembers it), ``timeout`` (no answer, and the provider never got
    the request) or ``timeout_after`` (no answer, but the provider did it: the answer was lost).
    ``charges`` and ``refunds`` are the amounts the provider carried out.
    """

    def __init__(self):
        self.failures, self.charges, self.refunds = [], [], []

    def fail(self, operation: str, how: str, times: int = 1):
        self.failures += [(operation, how)] * times

    def _failure(self, operation):
        for index, (name, how) in enumerate(self.failures):
            if name == operation:
                del self.failures[index]
                return how
        return None

    def _call(self, operation, perform, amount, **declined):
        how = self._failure(operation)
        if how == "timeout":
            raise GatewayUnavailable("Timed out.")
        if how == "decline":
            self._decline_next = "Card declined." if operation == "charge" else "Refund refused by the bank."
        try:
            reference = perform()
        finally:
            self._decline_next = None
        (self.charges if operation == "charge" else self.refunds).append(Decimal(amount))
        if how == "timeout_after":
            raise GatewayUnavailable("Timed out after the provider had done it.")
        return reference

    _decline_next = None

    def _charge_outcome(self, amount):
        return self._decline_next or super()._charge_outcome(amount)

    def _refund_outcome(self, cursor, charge_reference, amount, currency):
        return self._decline_next or super()._refund_outcome(cursor, charge_reference, amount, currency)

    def charge(self, *, amount, currency, idempotency_key, description):
        return self._call(
            "charge",
            lambda: super(FlakyGateway, self).charge(
                amount=amount, currency=currency, idempotency_key=idempotency_key, description=description
            ),
            amount,
        )

    def refund(self, *, charge_reference, amount, currency, idempotency_key):
        return self._call(
            "refund",
            lambda: super(FlakyGateway, self).refund(
                charge_reference=charge_reference,
                amount=amount,
                currency=currency,
                idempotency_key=idempotency_key,
            ),
            amount,
        )

    def lookup(self, *, idempotency_key):
        if self._failure("lookup") == "timeout":
            raise GatewayUnavailable("Timed out.")
        return super().lookup(idempotency_key=idempotency_key)


@pytest.fixture
def gateway(monkeypatch):
    flaky = FlakyGateway()
    monkeypatch.setattr("orders.billing.payment_gateway", lambda: flaky)
    return flaky
