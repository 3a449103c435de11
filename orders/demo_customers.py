"""Deterministic demo customers: names, e-mail addresses, phones and addresses, with their history."""

import random
import unicodedata
from datetime import timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from audit.seeding import copy_with_history
from core.bulk import reset_sequence

from .models import Customer

FIRST = [
    "Ada",
    "Ben",
    "Chloé",
    "David",
    "Emma",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kara",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Pedro",
    "Qian",
    "Rosa",
    "Sami",
    "Tara",
    "Uma",
    "Viktor",
    "Wen",
    "Yusuf",
    "Zoe",
]
LAST = [
    "Andersen",
    "Brown",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "García",
    "Hughes",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Müller",
    "Nakamura",
    "O'Brien",
    "Patel",
    "Rossi",
    "Smith",
    "Tanaka",
    "Novak",
    "Weber",
    "Yilmaz",
]
STREETS = ["High Street", "Station Road", "Church Lane", "Mill Road", "Park Avenue", "King Street"]
CITIES = [
    "Springfield 10001",
    "Riverton 20417",
    "Lakeside 30522",
    "Hillview 40110",
    "Bayport 50309",
]

CUSTOMER_COLUMNS = ["id", "name", "email", "phone", "default_shipping_address", "created_at"]
BATCH = 20_000


def _ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower().replace("'", "")


def seed_customers(count: int, *, rng: random.Random, progress=None, user=None) -> int:
    start = (Customer.unscoped.aggregate(m=Max("id"))["m"] or 0) + 1
    now = timezone.now()
    done = 0
    while done < count:
        size = min(BATCH, count - done)
        rows = []
        for pk in range(start + done, start + done + size):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            address = f"{rng.randint(1, 250)} {rng.choice(STREETS)}\n{rng.choice(CITIES)}"
            rows.append(
                (
                    pk,
                    f"{first} {last}",
                    f"{_ascii(first)}.{_ascii(last)}.{pk}@example.com",
                    f"+1 555 {rng.randint(1000000, 9999999)}",
                    address,
                    now - timedelta(days=rng.uniform(30, 800)),
                )
            )
        with transaction.atomic():
            copy_with_history(
                Customer,
                CUSTOMER_COLUMNS,
                rows,
                reason="Demo data",
                describe="name || ' <' || email || '>'",
                when="created_at",
                user=user,
            )
        done += size
        if progress:
            progress(done, count)
    reset_sequence(Customer)
    return done
