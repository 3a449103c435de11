"""What the audit log shows of the sealed trail (``audit.sealing``): whether each entry is in a block
yet, how many wait for the next seal, and the latest verification."""

from django.db import connection
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from core.tenancy import current_tenant

from .sealing import latest_check

# Entries below the settled id are sealed; above it, an entry is sealed if one of the shop's recent
# blocks holds it (an index range on the blocks, then the block's array of ids).
_SETTLED_ID = (
    "COALESCE((SELECT s.pending_from FROM audit_auditseal s WHERE s.tenant_id = audit_auditentry.tenant_id "
    "ORDER BY s.number DESC LIMIT 1), 1)"
)
_IS_SEALED = (
    f"(audit_auditentry.id < {_SETTLED_ID} OR EXISTS (SELECT 1 FROM audit_auditseal s "  # noqa: S608
    "WHERE s.tenant_id = audit_auditentry.tenant_id AND s.last_id >= audit_auditentry.id "
    "AND s.first_id <= audit_auditentry.id AND audit_auditentry.id = ANY(s.entry_ids)))"
)


def sealed_expression():
    """``is_sealed`` of each entry, for a list of them (no query of its own)."""
    return RawSQL(_IS_SEALED, [], output_field=BooleanField())  # noqa: S611 - constant SQL


UNSEALED_COUNT_LIMIT = 10_000


def unsealed_count(*, limit: int = UNSEALED_COUNT_LIMIT) -> int:
    """Entries of the open shop not in a block yet ("not yet sealed"), counted up to ``limit + 1``.

    The newest seal's ``pending_from`` is read first, as a constant, so PostgreSQL walks the ids
    from there by index instead of working the settled id out again for every entry.
    """
    tenant_id = current_tenant().pk
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pending_from FROM audit_auditseal WHERE tenant_id = %s ORDER BY number DESC LIMIT 1",
            [tenant_id],
        )
        row = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM audit_auditentry e WHERE e.tenant_id = %s AND e.id >= %s "
            "AND NOT EXISTS (SELECT 1 FROM audit_auditseal s WHERE s.tenant_id = e.tenant_id "
            "AND s.last_id >= e.id AND s.first_id <= e.id AND e.id = ANY(s.entry_ids)) LIMIT %s) AS waiting",
            [tenant_id, row[0] if row else 1, limit + 1],
        )
        return cursor.fetchone()[0]


def trail_status() -> dict:
    """For the audit log's banner: the latest check, and what waits for a seal."""
    unsealed = unsealed_count()
    return {
        "check": latest_check(),
        "unsealed": unsealed,
        "unsealed_more": unsealed > UNSEALED_COUNT_LIMIT,
        "unsealed_limit": f"{UNSEALED_COUNT_LIMIT:,}",
    }
