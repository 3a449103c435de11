"""Deterministic, realistic demo catalogue: a category tree and as many products as asked for."""

import random
import uuid
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from audit.seeding import copy_with_history
from core.bulk import copy_binary, in_processes, reset_sequence

from .models import Category, Product, StockMovement

CATEGORY_TREE = {
    "Electronics": {
        "Phones": ["Smartphones", "Phone cases"],
        "Computers": ["Laptops", "Monitors", "Keyboards"],
        "Audio": ["Headphones", "Speakers"],
    },
    "Home & Kitchen": {
        "Cookware": ["Pans", "Knives"],
        "Furniture": ["Chairs", "Desks"],
        "Lighting": [],
    },
    "Clothing": {"Men": ["Shirts", "Jackets"], "Women": ["Dresses", "Coats"], "Kids": []},
    "Sports & Outdoors": {"Cycling": [], "Camping": ["Tents", "Sleeping bags"], "Fitness": []},
    "Books": {"Fiction": [], "Non-fiction": [], "Children's books": []},
    "Garden": {"Tools": [], "Plants & seeds": []},
}

ADJECTIVES = [
    "Classic",
    "Compact",
    "Deluxe",
    "Eco",
    "Essential",
    "Lightweight",
    "Modern",
    "Pro",
    "Premium",
    "Rugged",
    "Smart",
    "Ultra",
    "Vintage",
    "Wireless",
    "Heavy-duty",
    "Foldable",
    "Organic",
    "Slim",
]
NOUNS = {
    "Smartphones": ["Phone"],
    "Phone cases": ["Case", "Bumper"],
    "Laptops": ["Laptop", "Notebook"],
    "Monitors": ["Monitor", "Display"],
    "Keyboards": ["Keyboard"],
    "Headphones": ["Headphones", "Earbuds"],
    "Speakers": ["Speaker", "Soundbar"],
    "Pans": ["Frying pan", "Wok", "Saucepan"],
    "Knives": ["Chef's knife", "Knife set"],
    "Chairs": ["Chair", "Stool"],
    "Desks": ["Desk"],
    "Lighting": ["Lamp", "Light strip"],
    "Shirts": ["Shirt", "Polo"],
    "Jackets": ["Jacket"],
    "Dresses": ["Dress"],
    "Coats": ["Coat", "Parka"],
    "Kids": ["T-shirt", "Hoodie"],
    "Cycling": ["Bike light", "Helmet", "Bike lock"],
    "Tents": ["Tent"],
    "Sleeping bags": ["Sleeping bag"],
    "Fitness": ["Yoga mat", "Kettlebell", "Dumbbell set"],
    "Fiction": ["Novel"],
    "Non-fiction": ["Guide"],
    "Children's books": ["Picture book"],
    "Tools": ["Spade", "Pruner", "Rake"],
    "Plants & seeds": ["Seed kit", "Herb pot"],
}
COLOURS = ["Black", "White", "Blue", "Red", "Green", "Grey", "Sand", "Olive", "Navy"]


def seed_categories() -> list[Category]:
    """The fixed category tree (idempotent); returns the leaves, where products go."""
    leaves = []

    def make(name, parent):
        category, _ = Category.objects.get_or_create(name=name, defaults={"parent": parent})
        return category

    for top, middles in CATEGORY_TREE.items():
        top_category = make(top, None)
        for middle, children in middles.items():
            middle_category = make(middle, top_category)
            if not children:
                leaves.append(middle_category)
            for child in children:
                leaves.append(make(child, middle_category))
    return leaves


def product_rows(count: int, *, rng: random.Random, leaves: list[Category], start: int = 0, now=None):
    """Yields (product row, opening stock) for products ``start`` … ``start + count - 1``."""
    now = now or timezone.now()
    for index in range(start, start + count):
        leaf = leaves[index % len(leaves)]
        noun = rng.choice(NOUNS.get(leaf.name, ["Item"]))
        name = f"{rng.choice(ADJECTIVES)} {noun} {rng.choice(COLOURS)} {index + 1}"
        roll = rng.random()
        stock = 0 if roll < 0.06 else rng.randint(1, 10) if roll < 0.2 else rng.randint(11, 400)
        price = Decimal(rng.randint(199, 199_999)) / 100
        created = now - timedelta(days=rng.uniform(1, 720))
        row = (
            uuid.UUID(int=rng.getrandbits(128), version=4),
            f"{leaf.slug[:3].upper()}-{index + 1:07d}",
            name,
            f"{slugify(name)}",
            f"{name}: a {noun.lower()} from our {leaf.name.lower()} range.",
            price,
            stock,
            10,
            leaf.pk,
            rng.random() < 0.85,
            rng.random() < 0.04,
            {"colour": name.split()[-2], "supplier": f"SUP-{rng.randint(1, 40):03d}"},
            rng.randint(0, 500),
            created,
            created,
        )
        yield row, stock


PRODUCT_COLUMNS = [
    "id",
    "sku",
    "name",
    "slug",
    "description",
    "price",
    "stock",
    "low_stock_threshold",
    "category_id",
    "is_published",
    "is_featured",
    "metadata",
    "popularity_score",
    "created_at",
    "updated_at",
]
MOVEMENT_COLUMNS = [
    "product_id",
    "quantity",
    "kind",
    "reason",
    "stock_after",
    "created_at",
    "reference_id",
    "user_id",
]


PRODUCTS_PER_CHUNK = 20_000


def seed_products(count: int, *, rng: random.Random, progress=None, user=None) -> int:
    """Insert ``count`` products with an opening-stock movement each (dated when the product was
    created), in chunks written by several processes at once (``core.bulk.in_processes``), each
    chunk from a random generator of its own (drawn from ``rng``: the same seed, the same
    products); ``user`` is who wrote them (the demo data's account)."""
    leaves = seed_categories()
    start = Product.objects.count()
    history = Product.history.model
    first_history_id = (history.objects.aggregate(top=Max("history_id"))["top"] or 0) + 1
    chunk_seed, now = rng.getrandbits(64), timezone.now()
    jobs = [
        (
            chunk_seed + offset,
            start + offset,
            min(PRODUCTS_PER_CHUNK, count - offset),
            first_history_id + offset,
        )
        for offset in range(0, count, PRODUCTS_PER_CHUNK)
    ]
    done = 0
    for made in in_processes(_product_chunk, jobs, shared=(leaves, now, user)):
        done += made
        if progress:
            progress(done, count)
    reset_sequence(history, column="history_id")
    return done


def _product_chunk(job, shared) -> int:
    """One chunk of products, their opening stock, history and audit entries, in one transaction."""
    (chunk_seed, start, size, first_history_id), (leaves, now, user) = job, shared
    rng = random.Random(chunk_seed)
    products, movements = [], []
    for row, stock in product_rows(size, rng=rng, leaves=leaves, start=start, now=now):
        products.append(row)
        if stock:
            movements.append(
                (
                    row[0],
                    stock,
                    StockMovement.Kind.RECEIPT,
                    "Opening stock (demo data)",
                    stock,
                    row[13],
                    "",
                    user.pk if user else None,
                )
            )
    with transaction.atomic():
        copy_with_history(
            Product,
            PRODUCT_COLUMNS,
            products,
            reason="Demo data",
            describe="name || ' (' || sku || ')'",
            when="created_at",
            user=user,
            first_history_id=first_history_id,
        )
        copy_binary(StockMovement, MOVEMENT_COLUMNS, movements)
    return size
