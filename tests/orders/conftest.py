from decimal import Decimal

import pytest


class RecordingGateway:
    """The payment provider is outside the system: this stands in for it and remembers the calls."""

    def __init__(self):
        self.charges, self.refunds, self.fail_next_charge = [], [], False

    def charge(self, *, amount, currency, description):
        from orders.payments import PaymentError

        if self.fail_next_charge:
            self.fail_next_charge = False
            raise PaymentError("Card declined.")
        self.charges.append(Decimal(amount))
        return f"ch_{len(self.charges)}"

    def refund(self, *, payment_reference, amount, currency):
        self.refunds.append(Decimal(amount))
        return f"re_{len(self.refunds)}"


@pytest.fixture
def gateway(monkeypatch):
    recording = RecordingGateway()
    monkeypatch.setattr("orders.payments.payment_gateway", lambda: recording)
    return recording
