"""Column mappings: which column of a file goes to which column of a resource, or is ignored.

The mapping step guesses one target per column of the file, each guess with its reason, in this
order: a mapping the shop saved under a name, a preset for another shop system's export
(``imports.presets``), the column's own name or an alias, a synonym other systems use, a name that
merely looks alike. A target is given to one column only (the strongest claim, then the first). The
person sees every guess, changes what is wrong, and may save the result for next time.

A mapping is applied in front of ``imports.rows.RowReader``: without a preset it only renames the
file's headers (ignored columns get no name), so reading costs nothing more; a preset also rewrites
each row the way its system means it (``imports.presets.base``).
"""

from dataclasses import dataclass
from difflib import SequenceMatcher

from .presets import Preset
from .rows import words
from .spec import ImportSpec
from .tables import Table, printable

IGNORE = ""
FUZZY_RATIO = 0.85
CERTAIN = 2  # claims this strong (saved, preset, same name or alias) need no checking


@dataclass
class Guess:
    """One column of the file: where it goes (``target``, empty when ignored) and why."""

    index: int
    header: str
    target: str
    reason: str
    certain: bool = True  # not a synonym's or a look-alike's guess: nothing for a person to check


def guess(
    spec: ImportSpec,
    headers: list[str],
    *,
    saved: dict | None = None,
    saved_name: str = "",
    preset: Preset | None = None,
) -> list[Guess]:
    """A target for each header (see the module's docstring); ``saved`` maps headers (as ``words``
    spells them) to targets, ``IGNORE`` included."""
    names = {column.name for column in spec.columns}
    claims: list[tuple[int, int, str, str]] = []  # (strength, index, target, reason)
    decided: dict[int, str] = {}  # index -> reason it is ignored on purpose
    candidates = _candidates(spec)
    for index, header in enumerate(headers):
        key = words(header)
        if not key:
            decided[index] = "no name: ignored"
            continue
        if saved is not None and key in saved:
            target = saved[key]
            if target in names:
                claims.append((0, index, target, f"saved mapping “{saved_name}”"))
            else:
                decided[index] = f"ignored in the saved mapping “{saved_name}”"
            continue
        if preset is not None:
            found = preset.place(header)
            if found is not None:
                target, reason = found
                if target in names:
                    claims.append((1, index, target, reason))
                else:
                    decided[index] = reason
                continue
        for strength, (target, reason) in _by_name(key, candidates):
            claims.append((strength, index, target, reason))
    return _settle(spec, headers, claims, decided)


def _candidates(spec: ImportSpec) -> list[tuple[int, str, str, str]]:
    """(strength, words, target, reason) of every name a column is known by."""
    found = []
    for column in spec.columns:
        found.append((2, words(column.name), column.name, "same name"))
        found.append((2, words(column.field), column.name, "same name"))
        found += [
            (2, words(alias), column.name, f"another name for {column.name}") for alias in column.aliases
        ]
        found += [(3, words(name), column.name, f"often used for {column.name}") for name in column.synonyms]
    return found


def _by_name(key: str, candidates) -> list[tuple[int, tuple[str, str]]]:
    exact = [(strength, (target, reason)) for strength, name, target, reason in candidates if name == key]
    if exact:
        return exact
    close = [
        (4, (target, f"looks like {target}"))
        for _, name, target, _ in candidates
        if SequenceMatcher(None, key, name).ratio() >= FUZZY_RATIO
    ]
    return close[:1]


def _settle(spec, headers, claims, decided) -> list[Guess]:
    taken: dict[str, int] = {}
    chosen: dict[int, tuple[str, str, bool]] = {}
    for strength, index, target, reason in sorted(claims, key=lambda claim: (claim[0], claim[1])):
        if index in chosen:
            continue
        if target in taken:
            decided.setdefault(
                index, f"{target} comes from “{printable(headers[taken[target]], 40)}”: ignored"
            )
            continue
        taken[target] = index
        chosen[index] = (target, reason, strength <= CERTAIN)
    guesses = []
    for index, header in enumerate(headers):
        if index in chosen:
            guesses.append(Guess(index, header, *chosen[index]))
        else:
            guesses.append(
                Guess(index, header, IGNORE, decided.get(index, "no column of ours matches: ignored"))
            )
    return guesses


def problems(spec: ImportSpec, headers: list[str], targets: list[str]) -> list[str]:
    """What keeps a mapping from being used: a target given twice, a required column left out."""
    found = []
    for name in {target for target in targets if target}:
        sources = [
            printable(header, 40) for header, target in zip(headers, targets, strict=True) if target == name
        ]
        if len(sources) > 1:
            found.append(f"{' and '.join(f'“{s}”' for s in sources)} both go to {name}: choose one.")
    names = {column.name for column in spec.columns}
    unknown = sorted({target for target in targets if target and target not in names})
    if unknown:
        found.append(f"{', '.join(unknown)}: not a column of {spec.label.lower()}.")
    missing = [column.name for column in spec.columns if column.required and column.name not in targets]
    if missing:
        found.append(
            f"Choose the column{'s' if len(missing) > 1 else ''} of the file for {', '.join(missing)} "
            "(required): every row needs a value there."
        )
    return found


def stored(headers: list[str], targets: list[str]) -> dict[str, str]:
    """A mapping as it is saved for next time: the header's words -> the target (``IGNORE`` too)."""
    return {words(header): target for header, target in zip(headers, targets, strict=True) if words(header)}


def ignored_columns(headers: list[str], targets: list[str], preset: Preset | None = None) -> list[str]:
    """The file's columns that import nothing, as the preview lists them (with why, when a preset
    knows it): "Sale price (no sale prices here: the regular price is imported)"."""
    shown = []
    for header, target in zip(headers, targets, strict=True):
        if target or not str(header).strip():
            continue
        why = preset.why_ignored(header) if preset is not None else ""
        shown.append(f"{printable(header)} ({why})" if why else printable(header))
    return shown


def mapped_table(table: Table, targets: list[str], preset: Preset | None = None) -> Table:
    """``table`` as the resource's columns: headers renamed to their targets (ignored ones unnamed),
    or, with a preset, rows rewritten by its rules."""
    if len(targets) != len(table.headers):
        raise ValueError("a mapping has one target per column of the file")
    if preset is None:
        # The spec's names are also keys of RowReader (column_key): no row is touched.
        return table.with_rows([target or "" for target in targets], table.open_rows)
    layout = Layout(table, targets)
    return table.with_rows(layout.outputs, lambda: preset.rows(layout))


class Layout:
    """Where a preset finds its columns: the file's headers, where each target comes from, and how a
    row of the resource's columns is laid out."""

    def __init__(self, table: Table, targets: list[str]):
        self.table = table
        self.index_of = {words(header): index for index, header in enumerate(table.headers)}
        self.outputs = [target for target in targets if target]
        self.source_index = [index for index, target in enumerate(targets) if target]
        self.source_of = {
            target: words(table.headers[index]) for index, target in enumerate(targets) if target
        }

    def source_rows(self):
        return self.table.open_rows()

    def cell(self, cells, header: str) -> str:
        """The cell of the file's column ``header`` (as ``words`` spells it), as trimmed text."""
        index = self.index_of.get(header)
        if index is None or index >= len(cells) or cells[index] is None:
            return ""
        return str(cells[index]).strip()

    def values(self, cells) -> dict[str, object]:
        size = len(cells)
        return {
            target: (cells[index] if index < size else None)
            for target, index in zip(self.outputs, self.source_index, strict=True)
        }

    def row(self, values: dict) -> list:
        return [values.get(target) for target in self.outputs]

    def comes_from(self, target: str, header: str) -> bool:
        """Whether the file's ``header`` (as ``words`` spells it) is what ``target`` was mapped from."""
        return self.source_of.get(target) == header
