"""An audit package: a shop's entries of a period with the sealed blocks that cover them, for an auditor
to verify offline with ``audit/verify_package.py`` (standard library only)."""

from django.utils import timezone

from core.tenancy import activate

from .digests import ENTRY_FIELDS, canonical_entry, entry_type_labels
from .models import AuditEntry, AuditSeal
from .verify_package import FORMAT


def audit_package(tenant, *, since, until) -> dict:
    """The shop's entries written in [since, until) with the sealed blocks that cover them: a file an
    auditor verifies offline with ``audit/verify_package.py``."""
    labels = entry_type_labels()
    with activate(tenant):
        entries = list(
            AuditEntry.objects.filter(created_at__gte=since, created_at__lt=until)
            .order_by("id")
            .values(*ENTRY_FIELDS)
        )
        ids = [entry["id"] for entry in entries]
        blocks = list(
            AuditSeal.objects.filter(entry_ids__overlap=ids).order_by("number")
            if ids
            else AuditSeal.objects.none()
        )
        if blocks:  # the whole stretch of the chain between them, so its links can be checked
            blocks = list(
                AuditSeal.objects.filter(
                    number__gte=blocks[0].number, number__lte=blocks[-1].number
                ).order_by("number")
            )
    sealed = {entry_id for block in blocks for entry_id in block.entry_ids}
    return {
        "format": FORMAT,
        "shop": tenant.subdomain,
        "period": {"from": since.isoformat(), "to": until.isoformat()},
        "exported_at": timezone.now().isoformat(),
        "blocks": [
            {
                "number": block.number,
                "previous_digest": block.previous_digest,
                "digest": block.digest,
                "root": block.root,
                "first_id": block.first_id,
                "last_id": block.last_id,
                "sealed_at": block.sealed_at.isoformat(),
                "entry_ids": block.entry_ids,
                "leaves": [bytes(block.leaves[i : i + 32]).hex() for i in range(0, len(block.leaves), 32)],
            }
            for block in blocks
        ],
        "entries": [
            canonical_entry(entry, labels[entry["content_type_id"]])
            | ({} if entry["id"] in sealed else {"not_yet_sealed": True})
            for entry in entries
        ],
    }
