#!/usr/bin/env python3
"""Verify an audit package offline, with nothing but Python's standard library.

    python3 verify_package.py PACKAGE.json [--published SEALS.jsonl]

An audit package (exported by ``manage.py export_audit_package`` or the audit log's "Audit package"
button) holds a shop's audit entries of a period and the sealed blocks that cover them. This checks
that every entry matches the digest its block sealed, that every block's Merkle root and digest are
right, and that the blocks follow each other in one chain. With ``--published`` (the lines the shop
published outside its database as it sealed, ``AUDIT_SEAL_PUBLISH_PATH``) the chain must also match
those copies, so even someone who rewrote the whole chain in the database is caught.

Exit status 0 when everything verifies, 1 (and the first problem named) otherwise. The digest rules
here are the ones the application seals with (``audit.sealing`` imports them from this file).
"""

import hashlib
import json
import sys

GENESIS = "0" * 64
FORMAT = "backoffice-audit-package/1"


def canonical_text(entry: dict) -> str:
    """The text an entry's digest covers: its fields as compact JSON with sorted keys."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def leaf_digest(text: str) -> bytes:
    return hashlib.sha256(b"\x00" + text.encode()).digest()


def merkle_root(leaves: list[bytes]) -> bytes:
    """Pairs hashed level by level (an odd last node goes up as it is)."""
    level = list(leaves)
    while len(level) > 1:
        pairs = zip(level[::2], level[1::2], strict=False)
        level = [hashlib.sha256(b"\x01" + a + b).digest() for a, b in pairs] + (
            [level[-1]] if len(level) % 2 else []
        )
    return level[0]


def block_digest(*, previous: str, number: int, root: str, first_id: int, last_id: int, count: int) -> str:
    text = f"{previous}|{number}|{root}|{first_id}|{last_id}|{count}"
    return hashlib.sha256(text.encode()).hexdigest()


def verify(package: dict, published: list[dict] | None = None) -> list[str]:
    """The problems found, first one first (an empty list: the package verifies)."""
    if package.get("format") != FORMAT:
        return [f"Not an audit package of format {FORMAT}."]
    blocks = sorted(package["blocks"], key=lambda block: block["number"])
    problems = []
    where = {}
    for index, block in enumerate(blocks):
        leaves = [bytes.fromhex(leaf) for leaf in block["leaves"]]
        if len(leaves) != len(block["entry_ids"]):
            problems.append(
                f"Block {block['number']}: {len(leaves)} digests for {len(block['entry_ids'])} entries."
            )
            continue
        root = merkle_root(leaves).hex()
        digest = block_digest(
            previous=block["previous_digest"],
            number=block["number"],
            root=root,
            first_id=block["first_id"],
            last_id=block["last_id"],
            count=len(leaves),
        )
        if root != block["root"] or digest != block["digest"]:
            problems.append(f"Block {block['number']}: its seal doesn't match its digests.")
        if index and (
            block["number"] != blocks[index - 1]["number"] + 1
            or block["previous_digest"] != blocks[index - 1]["digest"]
        ):
            problems.append(f"Block {block['number']} does not follow block {blocks[index - 1]['number']}.")
        for entry_id, leaf in zip(block["entry_ids"], leaves, strict=True):
            where[entry_id] = (block["number"], leaf)
    for entry in sorted(package["entries"], key=lambda entry: entry["id"]):
        sealed = where.get(entry["id"])
        if sealed is None:
            if not entry.get("not_yet_sealed"):
                problems.append(f"Entry {entry['id']} is in no block of the package.")
            continue
        fields = {key: value for key, value in entry.items() if key != "not_yet_sealed"}
        if leaf_digest(canonical_text(fields)) != sealed[1]:
            problems.append(f"Entry {entry['id']} doesn't match the digest sealed in block {sealed[0]}.")
    digests = {block["number"]: block["digest"] for block in blocks}
    for record in published or []:
        mine = record.get("shop") == package["shop"] and record["block"] in digests
        if mine and digests[record["block"]] != record["digest"]:
            sealed_at = record["sealed_at"]
            problems.append(f"Block {record['block']} differs from the seal published on {sealed_at}.")
    return problems


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 2
    with open(argv[0], encoding="utf-8") as file:
        package = json.load(file)
    published = None
    if "--published" in argv:
        with open(argv[argv.index("--published") + 1], encoding="utf-8") as file:
            published = [json.loads(line) for line in file if line.strip()]
    problems = verify(package, published)
    if problems:
        print(f"FAILED: {problems[0]}")
        for problem in problems[1:]:
            print(f"  also: {problem}")
        return 1
    sealed = sum(1 for entry in package["entries"] if not entry.get("not_yet_sealed"))
    last = max((block["number"] for block in package["blocks"]), default=None)
    print(
        f"OK: {sealed} entries of {package['shop']} ({package['period']['from']} to "
        f"{package['period']['to']}) match blocks {package['blocks'][0]['number'] if last else '-'}"
        f"-{last or '-'} of the chain."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
