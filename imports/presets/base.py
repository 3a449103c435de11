"""What a preset declares, and the helpers its rules share."""

import re
from collections.abc import Iterator

from ..rows import words
from ..tables import SetAside


class Preset:
    """Another system's export of one resource.

    - ``signature``: headers its files always have (all of them: the file is recognised as its);
    - ``columns``: its header -> our column, the mapping the admin proposes;
    - ``uses``: its headers the rules read, whatever they are mapped to -> what for;
    - ``notes``: its headers left out -> why (listed by the preview with the ignored columns);
    - ``rows(layout)``: the file's rows as the resource's columns (``mapping.Layout``), each row
      rewritten by the rules, or set aside (``SetAside``) with the reason.
    """

    name = ""
    label = ""
    resource = ""
    summary = ""  # what its rules do, in a sentence or two, for the mapping page
    signature: tuple[str, ...] = ()
    group_by = ""  # a header whose rows belong together (the first holds what the others leave out)
    columns: dict[str, str] = {}
    uses: dict[str, str] = {}
    notes: dict[str, str] = {}

    @classmethod
    def recognises(cls, headers) -> bool:
        present = {words(header) for header in headers}
        return all(words(header) in present for header in cls.signature)

    def place(self, header: str) -> tuple[str, str] | None:
        """(our column or "" for ignored, why) for one of its headers; None when it doesn't know it."""
        key = words(header)
        for theirs, ours in self.columns.items():
            if words(theirs) == key:
                return ours, self.label
        for theirs, why in self.uses.items():
            if words(theirs) == key:
                return "", f"read by the {self.label} rules: {why}"
        for theirs, why in self.notes.items():
            if words(theirs) == key:
                return "", f"{self.label}: {why}"
        return None

    def why_ignored(self, header: str) -> str:
        key = words(header)
        for table in (self.notes, self.uses):
            for theirs, why in table.items():
                if words(theirs) == key:
                    return why
        return ""

    def rows(self, layout) -> Iterator:
        """The rows as they are; presets rewrite them."""
        for cells in layout.source_rows():
            yield layout.row(layout.values(cells))


# --- what the rules of several systems share ------------------------------------------------------------
def is_blank_row(cells) -> bool:
    return not any(cell is not None and str(cell).strip() for cell in cells)


def flag_word(value: bool) -> str:
    return "yes" if value else "no"


_UNESCAPED_COMMA = re.compile(r"(?<!\\),")


def split_list(text: str) -> list[str]:
    """``Clothing > Tshirts, Clothing`` -> its items; ``\\,`` is a comma inside an item."""
    return [item.strip().replace("\\,", ",") for item in _UNESCAPED_COMMA.split(text or "") if item.strip()]


def deepest_path(text: str) -> str:
    """Of several category paths in one cell, the deepest (the first of the deepest): a product here
    has one category, the most precise one."""
    paths = split_list(text)
    if not paths:
        return ""
    return max(paths, key=lambda path: len([part for part in re.split(r"[>/]", path) if part.strip()]))


def joined(*parts: str, separator: str = " ") -> str:
    return separator.join(part for part in parts if part)


def set_aside(reason: str) -> SetAside:
    return SetAside(reason)


def refused(field: str, reason: str) -> SetAside:
    return SetAside(reason, invalid=True, field=field)
