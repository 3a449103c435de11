"""django-axes: repeated failed logins for one account from one address lock that pair out for a while;
the superuser sees the lock under "Access attempts" and can clear it."""

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.utils import timezone

from tests.admin_helpers import action

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"
ATTACKER, OFFICE = "203.0.113.7", "198.51.100.20"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Every attempt hashes a password: the production hasher would make these tests take half a minute.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def log_in(client, username, password, address=ATTACKER):
    return client.post(
        LOGIN, {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=address
    )


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def fail_until_locked(client, username, address=ATTACKER):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = log_in(client, username, "wrong", address)
    return response


def test_failures_below_the_limit_dont_lock(client, ops_user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "olivia", "wrong").status_code == 200  # the form again, with an error

    assert logged_in(log_in(client, "olivia", "pw-olivia"))


def test_repeated_failures_lock_the_account_from_that_address(client, ops_user):
    locked = fail_until_locked(client, "olivia")

    assert locked.status_code == 429
    # Even the right password is refused now, from that address.
    refused = log_in(client, "olivia", "pw-olivia")
    assert refused.status_code == 429
    assert "locked" in refused.content.decode().lower()


def test_the_lock_is_for_that_account_and_address_only(client, ops_user, support_user):
    fail_until_locked(client, "olivia")

    assert logged_in(log_in(client, "olivia", "pw-olivia", address=OFFICE))
    client.logout()
    assert logged_in(log_in(client, "sam", "pw-sam", address=ATTACKER))


def test_the_lock_ends_after_the_cool_off_time(client, ops_user):
    fail_until_locked(client, "olivia")
    cool_off = dt.timedelta(hours=settings.AXES_COOLOFF_TIME)
    # Test set-up: let the cool-off time pass.
    AccessAttempt.objects.update(attempt_time=timezone.now() - cool_off - dt.timedelta(seconds=1))

    assert logged_in(log_in(client, "olivia", "pw-olivia"))


def test_superuser_sees_the_lock_and_clears_it(client, client_for, ops_user, superuser):
    fail_until_locked(client, "olivia")
    admin = client_for(superuser)

    page = admin.get("/admin/axes/accessattempt/")
    assert page.status_code == 200
    assert "olivia" in page.content.decode()
    assert ATTACKER in page.content.decode()
    attempt = AccessAttempt.objects.get(username="olivia")
    assert attempt.failures_since_start == settings.AXES_FAILURE_LIMIT

    action(admin, "/admin/axes/accessattempt/", "delete_selected", [attempt], post="yes")

    assert not AccessAttempt.objects.exists()
    assert logged_in(log_in(client, "olivia", "pw-olivia"))


def test_a_successful_login_resets_the_count(client, ops_user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "olivia", "wrong")
    assert logged_in(log_in(client, "olivia", "pw-olivia"))
    client.logout()

    # The count started again: one failure doesn't lock.
    assert log_in(client, "olivia", "wrong").status_code == 200
    assert logged_in(log_in(client, "olivia", "pw-olivia"))


def test_behind_a_proxy_each_client_is_locked_out_on_its_own(client, settings, ops_user):
    settings.TRUSTED_PROXIES = 1
    proxy = "10.0.0.2"

    def through_proxy(password, client_address, claimed=""):
        forwarded = f"{claimed}, {client_address}" if claimed else client_address
        return client.post(
            LOGIN,
            {"username": "olivia", "password": password, "next": "/admin/"},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    for _ in range(settings.AXES_FAILURE_LIMIT):
        through_proxy("wrong", ATTACKER, claimed=OFFICE)  # a forged first entry changes nothing

    assert through_proxy("pw-olivia", ATTACKER).status_code == 429
    assert AccessAttempt.objects.get().ip_address == ATTACKER
    assert logged_in(through_proxy("pw-olivia", OFFICE))
