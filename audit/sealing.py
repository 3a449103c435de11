"""A tamper-evident audit trail: each shop's audit entries sealed into a hash chain of blocks.

Writers never wait for sealing: a periodic task seals what was written since the last block. A block
holds the digests of its entries (each digest covers the entry's content), their Merkle root, and a
digest over the root and the previous block's digest, so changing, removing or reordering any sealed
entry breaks its block and every block after it. The database refuses UPDATE and DELETE on entries
(a trigger, as for the stock ledger), so tampering takes a database superuser; ``trail_verify``
catches what such a person changed, and a copy of the latest seal kept outside the database
(``AUDIT_SEAL_PUBLISH_PATH``) catches even a rewrite of the whole chain.

Which entries are ready: ids come from a sequence when a row is written, but transactions commit in
any order, so an entry with a smaller id may appear after a larger one was sealed. Each sealing run
records the sequence's value and the transaction snapshot's xmax; entries up to the value a run saw
are "settled" once every transaction that was running at the *next* run has finished (such an entry's
transaction took its id before that next run, so it was one of them). Unsettled ids are looked at again
on every run, so a late entry is sealed by the next block, never skipped.

The digest of an entry is SHA-256 over its canonical JSON (``audit/digests.py``); the rules are in
``audit/verify_package.py``, standard library only, which also verifies an exported audit package
offline.
"""

import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import BigIntegerField, Value
from django.db.models.functions import Cast

from core.tenancy import activate, current_tenant

from .digests import entry_leaves, entry_rows, entry_type_labels
from .models import AuditEntry, AuditSeal, TrailCheck
from .verify_package import GENESIS, block_digest, merkle_root

logger = logging.getLogger(__name__)

BLOCK_SIZE = 10_000  # entries per block at most
# Runs closer than this don't settle each other's entries (see the module's docstring).
SETTLE_GAP = timedelta(seconds=1)


# --- Sealing -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Horizon:
    sequence_value: int  # the entries' id sequence as this run saw it
    xmin: int  # the oldest transaction still running
    xmax: int  # the first transaction id not yet given out


def _horizon() -> _Horizon:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint, "
            "(SELECT last_value FROM audit_auditentry_id_seq) FROM (SELECT pg_current_snapshot() AS s) x"
        )
        xmin, xmax, value = cursor.fetchone()
    return _Horizon(sequence_value=value, xmin=xmin, xmax=xmax)


def _settled_from(latest: AuditSeal | None, horizon: _Horizon) -> int:
    """The smallest entry id that may still be missing from the seals."""
    if latest is None:
        return 1
    if horizon.xmin < latest.snapshot_xmax:
        return latest.pending_from  # a transaction of the latest run's time may still be writing
    earlier = (
        AuditSeal.objects.filter(sealed_at__lte=latest.sealed_at - SETTLE_GAP)
        .order_by("-number")
        .values_list("sequence_value", flat=True)
        .first()
    )
    if earlier is None:
        return latest.pending_from
    return max(latest.pending_from, earlier + 1)


def seal_tenant(tenant) -> list[AuditSeal]:
    """Seal what the shop's audit log gained since its last block; returns the new blocks."""
    with activate(tenant), transaction.atomic():
        with connection.cursor() as cursor:  # one sealer per shop at a time; writers never wait
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('audit-seal'), %s)", [tenant.pk])
        horizon = _horizon()
        latest = AuditSeal.objects.order_by("-number").first()
        # Look again at everything not settled by the last run; what this run settles is recorded
        # for the next one (every entry visible now is sealed now, settled or not).
        scan_from = latest.pending_from if latest else 1
        pending_from = _settled_from(latest, horizon)
        candidates = _entries_to_seal(scan_from, latest, horizon)
        labels = entry_type_labels()
        blocks = []
        previous = latest
        for start in range(0, len(candidates), BLOCK_SIZE):
            chunk = candidates[start : start + BLOCK_SIZE]
            previous = _write_block(
                chunk, labels, previous=previous, horizon=horizon, pending_from=pending_from
            )
            blocks.append(previous)
    for block in blocks:
        _publish(tenant, block)
    return blocks


def _entries_to_seal(scan_from: int, latest: AuditSeal | None, horizon: _Horizon) -> list[tuple]:
    """The entries visible now that no block holds, by id. Ids up to what the latest run saw were
    sealed then, but for late ones: those are found by their ids alone (while writers are busy the
    range looked at again is a few runs' worth), and only new and late entries are read whole."""
    seen_up_to = min(latest.sequence_value if latest else 0, horizon.sequence_value)
    late = []
    if scan_from <= seen_up_to:
        sealed = _sealed_ids_from(scan_from)
        late = [
            entry_id
            for entry_id in AuditEntry.objects.filter(id__gte=scan_from, id__lte=seen_up_to)
            .order_by("id")
            .values_list("id", flat=True)
            if entry_id not in sealed
        ]
    entries = entry_rows(AuditEntry.objects.order_by("id"))
    found = [
        entry
        for start in range(0, len(late), BLOCK_SIZE)  # bounded IN lists
        for entry in entries.filter(id__in=late[start : start + BLOCK_SIZE])
    ]
    # No block holds an id above what the latest run saw: every one of them is new.
    return found + list(entries.filter(id__gt=max(seen_up_to, scan_from - 1), id__lte=horizon.sequence_value))


def _sealed_ids_from(pending_from: int) -> set[int]:
    """Ids at or above ``pending_from`` that blocks already hold (late entries sealed out of order)."""
    ids: set[int] = set()
    for entry_ids in AuditSeal.objects.filter(last_id__gte=pending_from).values_list("entry_ids", flat=True):
        ids.update(entry_id for entry_id in entry_ids if entry_id >= pending_from)
    return ids


def _write_block(entries, labels, *, previous, horizon, pending_from) -> AuditSeal:
    ids, leaves = map(list, zip(*entry_leaves(entries, labels), strict=True))
    root = merkle_root(leaves).hex()
    number = previous.number + 1 if previous else 1
    digest = block_digest(
        previous=previous.digest if previous else GENESIS,
        number=number,
        root=root,
        first_id=min(ids),
        last_id=max(ids),
        count=len(ids),
    )
    block = AuditSeal.objects.create(
        number=number,
        previous_digest=previous.digest if previous else GENESIS,
        digest=digest,
        root=root,
        entry_ids=_bigint_array(ids),
        leaves=b"".join(leaves),
        first_id=min(ids),
        last_id=max(ids),
        sequence_value=horizon.sequence_value,
        snapshot_xmax=horizon.xmax,
        pending_from=pending_from,
    )
    block.entry_ids = ids
    return block


def _bigint_array(ids: list[int]) -> Cast:
    """The ids as one array literal cast on the server (the array field would adapt each of 10,000)."""
    return Cast(Value("{" + ",".join(map(str, ids)) + "}"), ArrayField(BigIntegerField()))


def _publish(tenant, block: AuditSeal) -> None:
    """The latest seal, outside the database: a log line, and a line in ``AUDIT_SEAL_PUBLISH_PATH``."""
    record = {
        "shop": tenant.subdomain,
        "block": block.number,
        "digest": block.digest,
        "sealed_at": block.sealed_at.isoformat(),
    }
    logger.info("audit seal %s", json.dumps(record))
    path = getattr(settings, "AUDIT_SEAL_PUBLISH_PATH", "")
    if path:
        with open(path, "a", encoding="utf-8") as published:
            published.write(json.dumps(record) + "\n")


# --- Verifying -----------------------------------------------------------------------------------------
@dataclass
class Verdict:
    ok: bool
    blocks: int = 0
    entries: int = 0
    up_to_entry: int | None = None
    first_bad_entry: int | None = None
    message: str = ""


def trail_verify(tenant, *, published: list[dict] | None = None, read_entries: bool = True) -> Verdict:
    """Check a shop's whole chain: every block's digest and link, every sealed entry against its
    digest, no sealed entry missing, no settled entry left out; ``published`` seals (from outside the
    database) must match the chain's. Names the first entry (or block) that doesn't match.

    ``read_entries=False`` checks all but the entries' digests: each block's root from the digests it
    stores. For right after ``seal_tenant`` hashed the entries (a big seed: reading a million back
    would only hash them again); ``verify_audit`` and the periodic check read them."""
    with activate(tenant):
        verdict = _walk_chain(tenant, read_entries=read_entries)
        if verdict.ok and published:
            verdict = _against_published(tenant, published, verdict)
        check = TrailCheck.objects.create(
            ok=verdict.ok,
            blocks=verdict.blocks,
            entries=verdict.entries,
            up_to_entry=verdict.up_to_entry,
            first_bad_entry=verdict.first_bad_entry,
            message=verdict.message[:1000],
        )
        cache.set(_check_key(), check, CHECK_CACHE_SECONDS)
    return verdict


CHECK_CACHE_SECONDS = 3600  # a new check replaces the entry at once


def _check_key() -> str:
    return f"audit-trail-check:{current_tenant().pk}"


def latest_check() -> TrailCheck | None:
    """The open shop's latest verification (cached: the dashboard asks on every visit)."""
    check = cache.get(_check_key(), "missing")
    if check == "missing":
        check = TrailCheck.objects.order_by("-checked_at").first()
        cache.set(_check_key(), check, CHECK_CACHE_SECONDS)
    return check


def _walk_chain(tenant, *, read_entries: bool) -> Verdict:
    labels = entry_type_labels()
    previous_digest, expected_number = GENESIS, 1
    verdict = Verdict(ok=True)
    for block in AuditSeal.objects.order_by("number").iterator(chunk_size=20):
        if block.number != expected_number or block.previous_digest != previous_digest:
            return _bad(verdict, None, f"Block {expected_number} is missing or out of order.")
        stored = [block.leaves[i : i + 32] for i in range(0, len(block.leaves), 32)]
        if len(stored) != len(block.entry_ids):
            return _bad(verdict, block.first_id, f"Block {block.number}'s seal doesn't match its entries.")
        mismatch = _entry_mismatch(block, stored, labels) if read_entries else None
        if mismatch:
            return _bad(verdict, *mismatch)
        root = merkle_root(stored).hex()
        digest = block_digest(
            previous=previous_digest,
            number=block.number,
            root=root,
            first_id=block.first_id,
            last_id=block.last_id,
            count=len(block.entry_ids),
        )
        if root != block.root or digest != block.digest:
            return _bad(verdict, block.first_id, f"Block {block.number}'s seal doesn't match its entries.")
        previous_digest, expected_number = block.digest, expected_number + 1
        verdict.blocks += 1
        verdict.entries += len(block.entry_ids)
        verdict.up_to_entry = max(verdict.up_to_entry or 0, block.last_id)
    latest = AuditSeal.objects.order_by("-number").first()
    if latest is not None:
        mismatch = _ids_mismatch(tenant, latest.pending_from, deleted=not read_entries)
        if mismatch:
            return _bad(verdict, *mismatch)
    matched = "match their seals" if read_entries else "match their seals' chain (entries not hashed again)"
    verdict.message = f"{verdict.entries} entries in {verdict.blocks} blocks {matched}."
    return verdict


def _entry_mismatch(block: AuditSeal, stored: list[bytes], labels) -> tuple[int, str] | None:
    """The first of the block's entries deleted, or changed since it was sealed, and what happened."""
    found = dict(entry_leaves(entry_rows(AuditEntry.objects.filter(id__in=block.entry_ids)), labels))
    for entry_id, leaf in zip(block.entry_ids, stored, strict=True):
        digest = found.get(entry_id)
        if digest is None:
            return entry_id, f"Entry {entry_id} (block {block.number}) was deleted."
        if digest != leaf:
            return entry_id, f"Entry {entry_id} (block {block.number}) was changed after it was sealed."
    return None


# Entries settled but in no block; with ``deleted``, also ids sealed that no entry has any more. On
# the server, by id alone (an anti-join), not a list of a million ids sent back to it.
_LEFT_OUT_SQL = """
    SELECT min(e.id) FROM audit_auditentry e
    WHERE e.tenant_id = %(shop)s AND e.id < %(pending_from)s AND NOT EXISTS (
        SELECT 1 FROM audit_auditseal s, unnest(s.entry_ids) AS sealed(id)
        WHERE s.tenant_id = %(shop)s AND sealed.id = e.id
    )
"""
_DELETED_SQL = """
    SELECT min(sealed.id) FROM audit_auditseal s, unnest(s.entry_ids) AS sealed(id)
    WHERE s.tenant_id = %(shop)s AND NOT EXISTS (
        SELECT 1 FROM audit_auditentry e WHERE e.tenant_id = %(shop)s AND e.id = sealed.id
    )
"""


def _ids_mismatch(tenant, pending_from: int, *, deleted: bool) -> tuple[int, str] | None:
    params = {"shop": tenant.pk, "pending_from": pending_from}
    with connection.cursor() as cursor:
        if deleted:
            cursor.execute(_DELETED_SQL, params)
            (entry_id,) = cursor.fetchone()
            if entry_id is not None:
                return entry_id, f"Entry {entry_id} was deleted after it was sealed."
        cursor.execute(_LEFT_OUT_SQL, params)
        (entry_id,) = cursor.fetchone()
    if entry_id is not None:
        return entry_id, f"Entry {entry_id} is older than the seals but in none."
    return None


def _against_published(tenant, published: list[dict], verdict: Verdict) -> Verdict:
    digests = dict(AuditSeal.objects.values_list("number", "digest"))
    for record in published:
        if record.get("shop") != tenant.subdomain:
            continue
        if digests.get(record["block"]) != record["digest"]:
            return _bad(
                verdict,
                None,
                f"Block {record['block']} differs from the copy published on {record['sealed_at']}: "
                "the chain was rewritten.",
            )
    return verdict


def _bad(verdict: Verdict, entry_id, message: str) -> Verdict:
    verdict.ok, verdict.first_bad_entry, verdict.message = False, entry_id, message
    return verdict


def read_published(path) -> list[dict]:
    with open(path, encoding="utf-8") as published:
        return [json.loads(line) for line in published if line.strip()]
