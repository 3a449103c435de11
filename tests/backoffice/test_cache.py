"""The cache: Redis when REDIS_URL is set, local memory otherwise; a Redis that goes away (refusing or
hanging) gives uncached pages, not errors and not slow pages."""

import logging
import os
import runpy
import socket
import time
from pathlib import Path

import pytest
from django.core.cache import cache

from core import cache as forgiving
from core.cache import ForgivingRedisCache
from inventory.models import Product
from inventory.selectors import featured_products
from inventory.services import product_set_flag, stock_adjust

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL not set (./dev test sets it)")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def hung_server():
    """A TCP port that accepts connections and never answers: a Redis that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(50)
    yield server.getsockname()[1]
    server.close()


@pytest.fixture(autouse=True)
def _no_outage_left_over():
    forgiving._outages.clear()
    yield
    forgiving._outages.clear()


def redis_cache(url, **params):
    return ForgivingRedisCache(
        url, {"OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 0.3}, **params}
    )


def use_default_cache(settings, url, **params):
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.ForgivingRedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 0.3},
            **params,
        }
    }


def test_a_refusing_redis_answers_like_an_empty_cache(caplog):
    down = redis_cache(f"redis://127.0.0.1:{closed_port()}/0", RETRY_AFTER_SECONDS=0)

    with caplog.at_level(logging.WARNING, logger="core.cache"):
        assert down.get("key") is None
        assert down.get("key", "fallback") == "fallback"
        down.set("key", 1)
        assert down.get_many(["a", "b"]) == {}
        assert down.set_many({"a": 1, "b": 2}) == ["a", "b"]  # none of them stored
        assert down.add("key", 1) is False
        down.delete_many(["a", "b"])
        assert down.get_or_set("key", lambda: "computed") == "computed"

    assert "Cache unavailable (get)" in caplog.text


def test_after_a_failure_redis_is_left_alone_for_a_while(hung_server, caplog):
    down = redis_cache(f"redis://127.0.0.1:{hung_server}/0", RETRY_AFTER_SECONDS=30)

    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="core.cache"):
        assert down.get("a") is None  # pays one timeout
        for _ in range(10):
            assert down.get("a") is None  # answered at once, without trying
            down.set("a", 1)
    elapsed = time.perf_counter() - started

    assert elapsed < 2, elapsed
    assert len([r for r in caplog.records if r.name == "core.cache"]) == 1


def test_redis_is_tried_again_once_the_pause_is_over(hung_server, caplog):
    down = redis_cache(f"redis://127.0.0.1:{hung_server}/0", RETRY_AFTER_SECONDS=0.2)

    with caplog.at_level(logging.WARNING, logger="core.cache"):
        down.get("a")
        down.get("a")  # still paused
        time.sleep(0.25)
        down.get("a")  # tried again, fails again

    assert len([r for r in caplog.records if r.name == "core.cache"]) == 2


def test_pages_and_services_work_while_redis_is_down(settings, client_for, superuser, make_product):
    use_default_cache(settings, f"redis://127.0.0.1:{closed_port()}/0")
    product = make_product(stock=5)
    product_set_flag(flag="feature", products=Product.objects.filter(pk=product.pk))

    assert client_for(superuser).get("/admin/").status_code == 200
    stock_adjust(product=product, quantity=2, reason="Counted")  # clears cached entries on commit
    assert [p.pk for p in featured_products()] == [product.pk]
    assert client_for(superuser).get("/admin/inventory/product/").status_code == 200


def test_dashboard_with_a_hanging_redis_pays_one_timeout(settings, client_for, superuser, hung_server):
    use_default_cache(settings, f"redis://127.0.0.1:{hung_server}/0")
    client = client_for(superuser)

    started = time.perf_counter()
    for _ in range(3):
        assert client.get("/admin/").status_code == 200
    assert time.perf_counter() - started < 3


@needs_redis
def test_on_a_real_redis_the_dashboard_figures_are_cached(
    settings, client_for, superuser, django_assert_max_num_queries
):
    use_default_cache(settings, TEST_REDIS_URL, KEY_PREFIX=f"test-{os.getpid()}")
    cache.clear()
    client = client_for(superuser)
    client.get("/admin/")

    with django_assert_max_num_queries(2):  # session and user; the figures come from Redis
        assert client.get("/admin/").status_code == 200
    from core.tenancy import current_tenant

    assert cache.get(f"dashboard:v1:{current_tenant().pk}:sales")["revenue"]["today"].amount == 0


@needs_redis
def test_on_a_real_redis_values_round_trip():
    live = redis_cache(TEST_REDIS_URL, KEY_PREFIX=f"test-{os.getpid()}")

    live.set("answer", {"n": 42}, 30)

    assert live.get("answer") == {"n": 42}
    live.delete("answer")
    assert live.get("answer") is None


def settings_with(monkeypatch, **env) -> dict:
    """The settings module evaluated afresh with these environment variables."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "backoffice" / "settings.py"))


def test_redis_url_chooses_the_backend(monkeypatch):
    with_redis = settings_with(monkeypatch, REDIS_URL="redis://127.0.0.1:6379/0")["CACHES"]["default"]
    without = settings_with(monkeypatch, REDIS_URL="")["CACHES"]["default"]

    assert with_redis["BACKEND"] == "core.cache.ForgivingRedisCache"
    assert with_redis["LOCATION"] == "redis://127.0.0.1:6379/0"
    assert without["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
