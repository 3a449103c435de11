"""The payment provider's interface, and the fake provider the demo, the tests and the benchmarks use.

``settings.PAYMENT_GATEWAY`` names the class. Every request carries an idempotency key: sent twice
with the same key, a request is done once and answers the same (as real providers do, so a retry
after a timeout can't charge twice); ``lookup`` tells what became of a key, so an operation cut off
between our steps can be resolved later (``orders.billing.payments_resolve``).

A provider either answers (a reference, or ``PaymentDeclined`` with its reason: nothing was done)
or doesn't (``GatewayUnavailable``: a timeout or a lost connection; the request may or may not have
been carried out, and only a look-up can tell).
"""

import json
import os
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Protocol

from django.conf import settings
from django.db import connections
from django.utils.module_loading import import_string

from core.exceptions import DomainError


class PaymentError(DomainError):
    pass


class PaymentDeclined(PaymentError):
    """The provider refused the request; nothing was charged or refunded."""


class GatewayUnavailable(PaymentError):
    """The provider didn't answer (timeout, connection lost): the outcome is unknown."""


@dataclass(frozen=True)
class GatewayOperation:
    """What the provider did with one idempotency key."""

    kind: str  # "charge" or "refund"
    succeeded: bool
    reference: str  # the provider's id of the charge or refund ("" when refused)
    amount: Decimal
    currency: str
    message: str = ""  # why it was refused


class PaymentGateway(Protocol):
    def charge(self, *, amount: Decimal, currency: str, idempotency_key: str, description: str) -> str:
        """Take ``amount``; return the charge's reference. Raises ``PaymentDeclined`` or
        ``GatewayUnavailable``."""

    def refund(self, *, charge_reference: str, amount: Decimal, currency: str, idempotency_key: str) -> str:
        """Give back ``amount`` of an earlier charge; return the refund's reference. A provider
        refuses more than the charge captured minus what was already refunded from it."""

    def lookup(self, *, idempotency_key: str) -> GatewayOperation | None:
        """What became of the request sent with this key; None if the provider never received it."""


class FakePaymentGateway:
    """A stand-in for the provider that refuses what a real one refuses: amounts of zero or below,
    refunds of an unknown charge, in another currency, or above what is left on the charge, and an
    idempotency key reused with other parameters. Charges of a positive amount are approved.

    Its records are a table of its own (``fake_gateway_operation``, created by migration
    orders 0003) written through a connection of its own, in autocommit: every process sees them
    (the web server and the Celery worker are separate processes), they survive restarts, a row
    lock on the charge serialises refunds of one charge across processes, and our transactions
    rolling back never undo what the "provider" did, as with a real one.
    """

    def charge(self, *, amount, currency, idempotency_key, description):
        params = {"kind": "charge", "amount": _amount_text(amount), "currency": currency}
        return self._perform(idempotency_key, params, lambda cursor: self._charge_outcome(amount))

    def refund(self, *, charge_reference, amount, currency, idempotency_key):
        params = {
            "kind": "refund",
            "amount": _amount_text(amount),
            "currency": currency,
            "charge": charge_reference,
        }
        return self._perform(
            idempotency_key,
            params,
            lambda cursor: self._refund_outcome(cursor, charge_reference, Decimal(amount), currency),
        )

    def lookup(self, *, idempotency_key):
        with _provider_call(), _connection().cursor() as cursor:
            cursor.execute(
                "SELECT kind, status, reference, amount, currency, message FROM fake_gateway_operation "
                "WHERE idempotency_key = %s",
                [idempotency_key],
            )
            row = cursor.fetchone()
        if row is None:
            return None
        kind, status, reference, amount, currency, message = row
        return GatewayOperation(kind, status == "succeeded", reference or "", amount, currency, message)

    # --- the provider's side ------------------------------------------------------------------------
    @staticmethod
    def _charge_outcome(amount) -> str:
        """ "" when approved, else why it is refused."""
        return "" if Decimal(amount) > 0 else "The amount must be above zero."

    def _refund_outcome(self, cursor, charge_reference, amount, currency) -> str:
        if amount <= 0:
            return "The amount must be above zero."
        cursor.execute(
            "SELECT amount, currency FROM fake_gateway_operation WHERE reference = %s AND kind = 'charge' "
            "AND status = 'succeeded' FOR UPDATE",
            [charge_reference],
        )
        charge = cursor.fetchone()
        if charge is None:
            return f"No such charge: {charge_reference}."
        captured, charge_currency = charge
        if currency != charge_currency:
            return f"The charge was in {charge_currency}, not {currency}."
        cursor.execute(
            "SELECT coalesce(sum(amount), 0) FROM fake_gateway_operation WHERE charge_reference = %s "
            "AND kind = 'refund' AND status = 'succeeded'",
            [charge_reference],
        )
        (refunded,) = cursor.fetchone()
        if refunded + amount > captured:
            return (
                f"A refund of {amount} exceeds what is left on charge {charge_reference}: "
                f"{captured - refunded} of {captured}."
            )
        return ""

    def _perform(self, key: str, params: dict, outcome) -> str:
        """Do the request once per key: a repeated key with the same parameters answers as the first
        time did; with other parameters it is refused."""
        if not key:
            raise PaymentDeclined("The payment provider needs an idempotency key.")
        with _provider_call():
            return self._perform_once(key, params, outcome)

    def _perform_once(self, key: str, params: dict, outcome) -> str:
        conn = _connection()
        with conn.transaction(), conn.cursor() as cursor:
            # One request per key at a time, across processes: the later one waits, then replays.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])
            cursor.execute(
                "SELECT params, status, reference, message FROM fake_gateway_operation "
                "WHERE idempotency_key = %s",
                [key],
            )
            done = cursor.fetchone()
            if done is None:
                refusal = outcome(cursor)
                reference = "" if refusal else f"fake_{params['kind'][:2]}_{uuid.uuid4().hex[:16]}"
                cursor.execute(
                    "INSERT INTO fake_gateway_operation (idempotency_key, params, kind, status, reference, "
                    "amount, currency, charge_reference, message) "
                    "VALUES (%s, %s::jsonb, %s, %s, %s, %s, %s, %s, %s)",
                    [
                        key,
                        json.dumps(params, sort_keys=True),
                        params["kind"],
                        "failed" if refusal else "succeeded",
                        reference or None,
                        Decimal(params["amount"]),
                        params["currency"],
                        params.get("charge"),
                        refusal,
                    ],
                )
                done = (params, "failed" if refusal else "succeeded", reference, refusal)
            recorded, status, reference, message = done
        if isinstance(recorded, str):
            recorded = json.loads(recorded)
        if recorded != params:
            raise PaymentDeclined(
                f"Idempotency key {key} was already used for another request ({recorded['kind']} of "
                f"{recorded['amount']} {recorded['currency']})."
            )
        if status != "succeeded":
            raise PaymentDeclined(message)
        return reference


def _amount_text(amount) -> str:
    return str(Decimal(amount).quantize(Decimal("0.01")))


_local = threading.local()


@contextmanager
def _provider_call():
    """The provider out of reach (its connection lost) is a gateway that doesn't answer."""
    import psycopg

    try:
        yield
    except psycopg.OperationalError as error:
        _local.connection = None  # the next call connects again
        raise GatewayUnavailable(f"The payment provider didn't answer: {error}") from error


def _connection():
    """The fake provider's own connection (one per process and thread), in autocommit."""
    import psycopg

    held = getattr(_local, "connection", None)
    if held is not None and held[0] == os.getpid() and not held[1].closed:
        return held[1]
    settings_dict = connections["default"].settings_dict
    params = {
        key: value
        for key, value in (settings_dict.get("OPTIONS") or {}).items()
        if key not in ("pool", "server_side_binding", "isolation_level", "assume_role")
    }
    params["dbname"] = settings_dict["NAME"]
    for key, name in (("user", "USER"), ("password", "PASSWORD"), ("host", "HOST"), ("port", "PORT")):
        if settings_dict.get(name):
            params[key] = settings_dict[name]
    conn = psycopg.connect(**params, autocommit=True)
    _local.connection = (os.getpid(), conn)
    return conn


@cache
def _gateway_class(path: str):
    return import_string(path)


def payment_gateway() -> PaymentGateway:
    return _gateway_class(settings.PAYMENT_GATEWAY)()
