"""How one import reads its file: the options a person chose (or the shell was given) and the file
opened with them, mapped to the resource's columns. The preview, the job that imports it (in the
request or on a worker), the file of rows to fix and the shell all open files through here, so they
read them alike."""

from dataclasses import asdict, dataclass, field, fields

from .mapping import ignored_columns, mapped_table, words
from .presets import preset_named
from .readers import ImportFileError, Table, open_table


@dataclass
class ImportOptions:
    """What an import was asked to do with its file (kept on its job as JSON)."""

    encoding: str = ""  # empty: detected
    delimiter: str = ""  # empty: detected
    preset: str = ""  # another system's export (imports.presets)
    headers: list[str] | None = None  # the file's headers the targets were chosen for
    targets: list[str] | None = (
        None  # the column each header goes to ("" ignored); None: the file's own names
    )
    mapping_name: str = ""  # the saved mapping it started from, if any
    create_missing: bool = False
    skip_invalid: bool = False

    def as_json(self) -> dict:
        return {name: value for name, value in asdict(self).items() if value not in ("", None, False)}

    @classmethod
    def from_json(cls, data: dict | None) -> "ImportOptions":
        known = {item.name for item in fields(cls)}
        return cls(**{name: value for name, value in (data or {}).items() if name in known})

    def described(self) -> str:
        """The choices a job page lists ("WooCommerce product export; create missing categories")."""
        parts = []
        preset = preset_named(self.preset)
        if preset is not None:
            parts.append(preset.label)
        if self.mapping_name:
            parts.append(f"saved mapping “{self.mapping_name}”")
        elif self.targets is not None and preset is None:
            parts.append("columns mapped by hand")
        if self.encoding:
            parts.append(f"read as {self.encoding}")
        if self.create_missing:
            parts.append("missing categories created")
        if self.skip_invalid:
            parts.append("invalid rows skipped")
        return "; ".join(parts)


@dataclass
class Source:
    raw: Table  # the file as it is (its own headers): what the file of rows to fix copies
    table: Table  # the file as the resource's columns
    notes: list[str] = field(default_factory=list)


def open_source(path, file_format: str, options: ImportOptions) -> Source:
    """The file at ``path`` read with ``options``: its encoding and delimiter, then its mapping."""
    raw = open_table(path, file_format, encoding=options.encoding, delimiter=options.delimiter)
    if options.targets is None:
        return Source(raw=raw, table=raw)
    if options.headers is not None and [words(h) for h in options.headers] != [words(h) for h in raw.headers]:
        raise ImportFileError(
            "The file's columns are not the ones its mapping was made for (was it read with another "
            "encoding or delimiter?): map its columns again. Nothing was imported."
        )
    preset = preset_named(options.preset)
    table = mapped_table(raw, list(options.targets), preset)
    table.ignored_columns = ignored_columns(raw.headers, list(options.targets), preset)
    return Source(raw=raw, table=table)
