"""The audit trail is tamper-evident: sealed in a hash chain per shop, verified by the application,
by a command, and offline from an exported package."""

import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.digests import ENTRY_FIELDS, digests_of, entry_type_labels
from audit.models import AuditEntry, AuditSeal
from audit.packages import audit_package
from audit.seal_status import trail_status, unsealed_count
from audit.sealing import seal_tenant, trail_verify
from core.tenancy import current_tenant
from inventory.services import product_set_flag

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / "audit" / "verify_package.py"


def as_database_superuser(sql, params=()):
    """What someone with the database's superuser password could do: switch triggers off and edit."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(sql, params)
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def package_verdict(tmp_path, *extra):
    today = timezone.localdate()
    package = audit_package(
        current_tenant(),
        since=timezone.now() - timedelta(days=1),
        until=timezone.now() + timedelta(days=1),
    )
    path = tmp_path / f"audit-{today}.json"
    path.write_text(json.dumps(package))
    result = subprocess.run(
        [sys.executable, str(VERIFIER), str(path), *extra], capture_output=True, text=True, timeout=60
    )
    return result.returncode, result.stdout


@pytest.mark.django_db
def test_entries_are_sealed_in_chained_blocks_and_verify(
    make_product, ops_user, auditor, client_for, tmp_path
):
    products = [make_product(published=False) for _ in range(3)]
    first = seal_tenant(current_tenant())
    product_set_flag(flag="publish", products=products, user=ops_user)
    second = seal_tenant(current_tenant())

    assert [block.number for block in first + second] == [1, 2]
    assert second[0].previous_digest == first[0].digest
    assert set(first[0].entry_ids) | set(second[0].entry_ids) == set(
        AuditEntry.objects.values_list("id", flat=True)
    )
    assert seal_tenant(current_tenant()) == []  # nothing new, no empty block
    verdict = trail_verify(current_tenant())
    assert verdict.ok, verdict.message
    assert verdict.entries == AuditEntry.objects.count()
    assert trail_status()["unsealed"] == 0
    assert package_verdict(tmp_path)[0] == 0
    page = client_for(auditor).get("/admin/audit/auditentry/").content.decode()
    assert "Audit trail verified" in page and "Not yet sealed" not in page


@pytest.mark.django_db
def test_the_application_cannot_change_or_delete_audit_entries(make_product):
    make_product()
    entry = AuditEntry.objects.first()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(reason="nothing happened")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    seal_tenant(current_tenant())
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditSeal.objects.update(digest="0" * 64)


@pytest.mark.django_db
def test_an_entry_rewritten_by_a_database_superuser_is_caught_everywhere(
    make_product, ops_user, auditor, superuser, client_for, tmp_path
):
    products = [make_product(published=False) for _ in range(4)]
    product_set_flag(flag="publish", products=products, user=ops_user)
    seal_tenant(current_tenant())
    victim = AuditEntry.objects.filter(reason="Bulk publish").order_by("id").first()

    as_database_superuser("UPDATE audit_auditentry SET user_id = NULL WHERE id = %s", [victim.pk])

    verdict = trail_verify(current_tenant())
    assert not verdict.ok
    assert verdict.first_bad_entry == victim.pk
    assert f"Entry {victim.pk}" in verdict.message
    with pytest.raises(CommandError, match="does not verify"):
        call_command("verify_audit", stdout=open(tmp_path / "out.txt", "w"))  # noqa: SIM115
    assert f"Entry {victim.pk}" in (tmp_path / "out.txt").read_text()

    page = client_for(auditor).get("/admin/audit/auditentry/")
    assert "Audit trail verification FAILED" in page.content.decode()
    assert f"Entry {victim.pk}" in page.content.decode()
    dashboard = client_for(superuser).get("/admin/")
    assert "The audit trail failed verification" in dashboard.content.decode()
    assert "audit trail" not in client_for(auditor).get("/admin/").content.decode()

    code, output = package_verdict(tmp_path)
    assert code == 1
    assert f"Entry {victim.pk} doesn't match" in output


@pytest.mark.django_db
def test_a_deleted_entry_is_named(make_product):
    make_product()
    make_product()
    seal_tenant(current_tenant())
    victim = AuditEntry.objects.order_by("id").first()

    as_database_superuser("DELETE FROM audit_auditentry WHERE id = %s", [victim.pk])

    verdict = trail_verify(current_tenant())
    assert not verdict.ok and verdict.first_bad_entry == victim.pk
    assert "deleted" in verdict.message


@pytest.mark.django_db
def test_a_chain_rewritten_whole_is_caught_against_the_published_seals(make_product, settings, tmp_path):
    settings.AUDIT_SEAL_PUBLISH_PATH = str(tmp_path / "seals.jsonl")
    make_product()
    seal_tenant(current_tenant())
    make_product()
    seal_tenant(current_tenant())
    published = [json.loads(line) for line in (tmp_path / "seals.jsonl").read_text().splitlines()]
    assert [record["block"] for record in published] == [1, 2]

    # Someone with superuser rights removes the last entry and its block, then seals again: the
    # chain in the database is consistent again, but no longer the one that was published.
    last = AuditSeal.objects.get(number=2)
    as_database_superuser("DELETE FROM audit_auditentry WHERE id = ANY(%s)", [last.entry_ids])
    as_database_superuser("DELETE FROM audit_auditseal WHERE id = %s", [last.pk])
    make_product()
    settings.AUDIT_SEAL_PUBLISH_PATH = ""  # the forger does not publish
    seal_tenant(current_tenant())
    assert trail_verify(current_tenant()).ok  # the database alone can't tell

    verdict = trail_verify(current_tenant(), published=published)
    assert not verdict.ok
    assert "Block 2 differs from the copy published" in verdict.message
    code, output = package_verdict(tmp_path, "--published", str(tmp_path / "seals.jsonl"))
    assert code == 1 and "Block 2 differs" in output


@pytest.mark.django_db
def test_entries_not_yet_sealed_are_counted_and_marked_in_the_package(make_product, tmp_path):
    make_product()
    seal_tenant(current_tenant())
    sealed = AuditEntry.objects.count()
    make_product()
    written_since = AuditEntry.objects.count() - sealed

    assert written_since and trail_status()["unsealed"] == written_since
    # The banner's count stops one past its limit, so a long queue never makes the log wait on a count.
    assert unsealed_count(limit=written_since - 1) == written_since
    assert unsealed_count(limit=0) == 1
    package = audit_package(
        current_tenant(), since=timezone.now() - timedelta(days=1), until=timezone.now() + timedelta(days=1)
    )
    marks = [entry.get("not_yet_sealed", False) for entry in package["entries"]]
    assert marks == [False] * sealed + [True] * written_since
    assert package_verdict(tmp_path)[0] == 0


@pytest.mark.django_db(transaction=True)
def test_an_entry_committed_after_later_ones_were_sealed_is_sealed_by_a_later_block(make_product):
    """Ids are taken when a row is written, commits come in any order: an entry with a smaller id
    that appears after bigger ones were sealed must not be skipped."""
    early = make_product(published=False)
    written, release = threading.Event(), threading.Event()
    tenant = current_tenant()

    def slow_writer():
        from core.tenancy import activate

        try:
            with activate(tenant), transaction.atomic():
                product_set_flag(flag="publish", products=[early.pk])  # takes its audit entry's id now
                written.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert written.wait(30)
    for _ in range(3):  # later ids, committed first and sealed by runs a second apart
        make_product()
        seal_tenant(tenant)
        time.sleep(1.1)
    release.set()
    thread.join(30)

    for _ in range(3):  # later runs (the settling one included) pick the late entry up
        make_product()
        seal_tenant(tenant)
        time.sleep(1.1)
    sealed = {i for ids in AuditSeal.objects.values_list("entry_ids", flat=True) for i in ids}
    assert set(AuditEntry.objects.values_list("id", flat=True)) == sealed
    assert trail_verify(tenant).ok


@pytest.mark.django_db
def test_awkward_entries_are_sealed_with_the_digests_of_the_published_rules(make_product, ops_user, tmp_path):
    """Sealing writes each entry's canonical text straight from its row; what it seals must be the
    digest ``verify_package.py``'s rules give (trails sealed before still verify, packages too)."""
    product = make_product(name='Caf\u00e9 "\u00c5" \\ \u2603 \U0001f600\ttab')
    content_type = ContentType.objects.get_for_model(product)
    odd_times = [
        datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Paris")),  # not UTC, whole seconds
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    for when, changed, user in zip(
        odd_times, [["name", 'we"ird\\', "\u00e9\n\x01"], {"price": 1, "a": 2}], [ops_user, None], strict=True
    ):
        AuditEntry.objects.create(
            created_at=when,
            user=user,
            content_type=content_type,
            object_id=str(product.pk),
            object_repr='Quote " backslash \\ newline \n bell \x07 \u00e9\u4e2d',
            action=AuditEntry.Action.CHANGED,
            reason="R\u00e9ason \r\f\b\x1f \u2028",
            changed_fields=changed,
            history_id=1,
        )
    [block] = seal_tenant(current_tenant())

    entries = {entry["id"]: entry for entry in AuditEntry.objects.values(*ENTRY_FIELDS)}
    expected = digests_of([entries[entry_id] for entry_id in block.entry_ids], entry_type_labels())
    stored = AuditSeal.objects.get(pk=block.pk)
    assert bytes(stored.leaves) == b"".join(expected)
    assert stored.entry_ids == block.entry_ids == sorted(entries)
    assert trail_verify(current_tenant()).ok
    assert package_verdict(tmp_path)[0] == 0
