"""The steps of the admin's import, without HTTP: read an upload waiting for its confirmation, guess
where its columns go (from a saved mapping, a preset or the names), and preview what the import would
do with the mapping a person chose (a dry run of the engine over the whole file)."""

from dataclasses import dataclass, field
from hashlib import blake2s
from itertools import islice

from .engine import ImportReport, run_import
from .files import local_file
from .forms import GUESS
from .mapping import Guess, guess
from .models import ImportMapping
from .presets import Preset, preset_named, recognised
from .readers import ImportFileError, Table, open_table, printable
from .registry import new_spec
from .saved_mappings import import_mapping_for_file
from .sources import ImportOptions, open_source
from .spec import ImportSpec
from .uploads import pending_path, private_storage

PREVIEW_ROWS = 500  # rows the preview lists (the counts cover the whole file)
SAMPLE_ROWS = 50  # rows read for the examples of each column
SAMPLES = 3


def columns_key(headers: list[str]) -> str:
    """A fingerprint of the headers: the mapping form's selects were made for these."""
    return blake2s("\x1f".join(headers).encode(), digest_size=8).hexdigest()


@dataclass
class MappingStep:
    """The mapping step of one file: how it was read, and where each column goes (and why)."""

    table: Table
    guesses: list[Guess]
    start: str = GUESS
    preset: Preset | None = None
    saved: ImportMapping | None = None
    note: str = ""
    samples: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def headers(self) -> list[str]:
        return self.table.headers

    @property
    def certain(self) -> bool:
        """Every guess is the file's own name, an alias, a saved mapping's or a preset's: nothing to
        check before a preview."""
        return all(item.certain for item in self.guesses)


def pending_table(claims: dict, *, encoding: str = "", delimiter: str = "") -> tuple[Table, list]:
    """The waiting upload's table and its first rows (a file that can't be read fails here, with its
    message)."""
    with local_file(pending_path(claims["name"]), private_storage()) as local:
        table = open_table(local, claims["format"], encoding=encoding, delimiter=delimiter)
        rows = list(islice(table.rows(), SAMPLE_ROWS))
    return table, rows


def mapping_step(
    spec: ImportSpec, table: Table, first_rows: list, *, start: str = GUESS, saved_mappings=()
) -> MappingStep:
    """Where each column of ``table`` goes, starting from ``start`` (``preset:<name>``,
    ``saved:<id>``, ``NAMES_ONLY``, or ``GUESS``: a saved mapping made for these columns, else the
    preset whose system wrote them, else the names)."""
    headers = table.headers
    preset = saved = None
    note = ""
    if start.startswith("preset:"):
        preset = preset_named(start.removeprefix("preset:"))
    elif start.startswith("saved:"):
        saved = next((m for m in saved_mappings if f"saved:{m.pk}" == start), None)
    elif start == GUESS:
        saved = import_mapping_for_file(spec.name, headers)
        if saved is not None:
            note = f"Your saved mapping “{saved.name}” was made for these columns: it is used below."
        else:
            found = recognised(spec.name, headers)
            preset = found() if found is not None else None
            if preset is not None:
                note = f"This is a {preset.label}: its columns are mapped as that system writes them."
    if saved is not None:
        preset = preset_named(saved.preset)
        start = f"saved:{saved.pk}"
    elif preset is not None:
        start = f"preset:{preset.name}"
    guesses = guess(
        spec,
        headers,
        saved=saved.columns if saved is not None else None,
        saved_name=saved.name if saved is not None else "",
        preset=preset,
    )
    return MappingStep(table, guesses, start, preset, saved, note, _samples(table, first_rows))


def _samples(table: Table, first_rows: list) -> list[tuple[str, ...]]:
    found: list[list[str]] = [[] for _ in table.headers]
    for _, cells in first_rows:
        for index, cell in enumerate(cells[: len(found)]):
            text = "" if cell is None else str(cell).strip()
            if text and len(found[index]) < SAMPLES:
                found[index].append(printable(" ".join(text.split()), 40))
    return [tuple(values) for values in found]


def preview(spec_name: str, claims: dict, options: ImportOptions, *, user) -> tuple[ImportReport, Table]:
    """A dry run of the whole file with ``options``: what the import would do, row by row."""
    with local_file(pending_path(claims["name"]), private_storage()) as local:
        source = open_source(local, claims["format"], options)
        report = run_import(
            new_spec(spec_name, create_missing=options.create_missing),
            table=source.table,
            file_name=claims["file_name"],
            user=user,
            dry_run=True,
            preview_limit=PREVIEW_ROWS,
        )
    if not report.rows_total:
        raise ImportFileError("The file has no rows under its header: there is nothing to import.")
    return report, source.raw


def confirmable(report: ImportReport, options: ImportOptions) -> bool:
    """Whether the preview may be confirmed: no invalid row (or they are skipped), something to do."""
    if report.invalid and not options.skip_invalid:
        return False
    return report.rows_total > report.invalid + report.skipped
