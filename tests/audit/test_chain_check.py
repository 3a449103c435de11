"""Right after sealing (a big seed), the trail is checked without hashing its entries again: the chain
of blocks, each block's root from its stored digests, and every entry's id, sealed and present."""

import pytest

from audit.models import AuditEntry, AuditSeal, TrailCheck
from audit.sealing import seal_tenant, trail_verify
from core.tenancy import current_tenant

from .test_sealing import as_database_superuser

pytestmark = pytest.mark.django_db


def sealed_products(make_product, count=3) -> AuditSeal:
    for _ in range(count):
        make_product()
    (block,) = seal_tenant(current_tenant())
    return block


def test_the_chain_check_passes_a_sealed_trail_and_says_what_it_did_not_read(make_product):
    sealed_products(make_product)
    verdict = trail_verify(current_tenant(), read_entries=False)
    assert verdict.ok and verdict.entries == AuditEntry.objects.count()
    assert "not hashed again" in verdict.message
    assert TrailCheck.objects.get().message == verdict.message


def test_the_chain_check_catches_a_block_whose_digests_were_rewritten(make_product):
    block = sealed_products(make_product)
    forged = bytes([block.leaves[0] ^ 1]) + block.leaves[1:]
    as_database_superuser("UPDATE audit_auditseal SET leaves = %s WHERE id = %s", [forged, block.pk])

    verdict = trail_verify(current_tenant(), read_entries=False)
    assert not verdict.ok and "Block 1's seal doesn't match" in verdict.message


def test_the_chain_check_names_a_sealed_entry_deleted(make_product):
    block = sealed_products(make_product)
    victim = block.entry_ids[1]
    as_database_superuser("DELETE FROM audit_auditentry WHERE id = %s", [victim])

    verdict = trail_verify(current_tenant(), read_entries=False)
    assert not verdict.ok and verdict.first_bad_entry == victim
    assert f"Entry {victim} was deleted after it was sealed." == verdict.message


@pytest.mark.parametrize("read_entries", [True, False])
def test_an_entry_older_than_the_seals_but_in_none_is_named(make_product, read_entries):
    block = sealed_products(make_product)
    # A late entry, below the ids the seals say are settled, that no block holds.
    late = block.last_id + 1
    as_database_superuser("UPDATE audit_auditseal SET pending_from = %s WHERE id = %s", [late + 1, block.pk])
    as_database_superuser(
        "INSERT INTO audit_auditentry (id, created_at, object_id, object_repr, action, reason, "
        "changed_fields, history_id, content_type_id, tenant_id, user_id, change_set_id) "
        "SELECT %s, created_at, object_id, object_repr, action, reason, changed_fields, history_id, "
        "content_type_id, tenant_id, user_id, change_set_id FROM audit_auditentry WHERE id = %s",
        [late, block.last_id],
    )

    verdict = trail_verify(current_tenant(), read_entries=read_entries)
    assert not verdict.ok and verdict.first_bad_entry == late
    assert verdict.message == f"Entry {late} is older than the seals but in none."
