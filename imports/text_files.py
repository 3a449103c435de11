"""Delimited text files as spreadsheets save them, read into tables.

- **Encodings**: UTF-8 with or without a BOM, UTF-16 ("Unicode text", with its BOM, or without one
  when every other byte is NUL), UTF-32, and the code pages spreadsheets write as "CSV" (Windows-1252
  and its neighbours), told apart by ``charset-normalizer`` on the lines that aren't ASCII. A file that
  is valid UTF-8 is read as UTF-8 (checked whole, in C: a few milliseconds for a hundred thousand rows).
- **Delimiters**: commas, semicolons, tabs or vertical bars, whichever the header row has most of
  outside quotes.
- **Line ends** of any kind (``\\n``, ``\\r\\n``, a lone ``\\r`` as old Mac spreadsheets write), and
  newlines inside quoted cells.

Each can be named instead of detected (the admin's form, ``--encoding`` and ``--delimiter`` in the
shell). A line that can't be decoded is named, with the byte, and what to do.
"""

import codecs
import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

from .tables import ImportFileError, Table, checked_headers, csv_problem, printable

_CHUNK = 1 << 16
_UTF8_CHECK_CHUNK = 1 << 20
_LINE_END = re.compile(rb"\r\n|\r|\n")
DELIMITERS = (",", ";", "\t", "|")

# The encodings a person can choose (and the ones detection names), as the preview says them.
ENCODINGS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf-16": "UTF-16 (Unicode text)",
    "utf-16-le": "UTF-16 little-endian",
    "utf-16-be": "UTF-16 big-endian",
    "utf-32": "UTF-32",
    "cp1252": "Windows-1252",
    "cp1250": "Windows-1250 (Central European)",
    "cp1251": "Windows-1251 (Cyrillic)",
    "cp1253": "Windows-1253 (Greek)",
    "cp1254": "Windows-1254 (Turkish)",
    "cp1257": "Windows-1257 (Baltic)",
    "mac-roman": "Mac Roman",
    "iso8859-15": "ISO-8859-15 (Latin-9)",
    "latin-1": "ISO-8859-1 (Latin-1)",
    "shift_jis": "Shift JIS",
    "gb18030": "GB18030",
    "big5": "Big5",
    "euc_kr": "EUC-KR",
}
# Byte order marks, longest first (UTF-32's little-endian mark starts like UTF-16's).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_WIDE = ("utf-16", "utf-16-le", "utf-16-be", "utf-32")  # not ASCII-compatible: decoded as a stream
# What charset-normalizer chooses among for a file that isn't UTF-8: what spreadsheets save.
_LEGACY = ["cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1257", "mac_roman", "shift_jis", "gb18030"]
_LEGACY += ["big5", "euc_kr"]


def encoding_label(name: str) -> str:
    return ENCODINGS.get(codec_name(name), name)


def codec_name(name: str) -> str:
    """A codec's name as ``ENCODINGS`` spells it (``utf_8`` -> ``utf-8``, ``mac_roman`` -> ``mac-roman``)."""
    try:
        found = codecs.lookup(name).name
    except LookupError:
        return name
    return {"iso8859-1": "latin-1", "utf-8-sig": "utf-8-sig"}.get(found, found)


# --- detection ------------------------------------------------------------------------------------
def detect_encoding(path: Path) -> str:
    """The codec a text file was saved in (see the module's docstring)."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    if head and head.count(b"\x00") > len(head) // 4:
        # UTF-16 without its BOM: the NUL halves of ASCII characters give the byte order away.
        return "utf-16-le" if head[1::2].count(b"\x00") > head[::2].count(b"\x00") else "utf-16-be"
    if _is_utf8(path):
        return "utf-8"
    return _legacy_encoding(_non_ascii_lines(path))


def _is_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(_UTF8_CHECK_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _non_ascii_lines(path: Path, limit: int = 1 << 16) -> bytes:
    """The file's lines that aren't plain ASCII, up to ``limit`` bytes: what tells code pages apart."""
    sample = bytearray()
    for line in raw_lines(path):
        if not line.isascii():
            sample += line
            if len(sample) >= limit:
                break
    return bytes(sample)


def _legacy_encoding(sample: bytes) -> str:
    from charset_normalizer import from_bytes  # imported when a file isn't UTF-8: rare

    matches = list(from_bytes(sample, cp_isolation=_LEGACY))
    if not matches:
        return "cp1252" if _decodes(sample, "cp1252") else "latin-1"
    best = min(match.chaos for match in matches)
    calm = [
        codec_name(name)
        for match in matches
        if match.chaos <= best + 0.01
        for name in [match.encoding, *match.could_be_from_charset]  # those that read it alike
    ]
    # Western spreadsheets save Windows-1252; its neighbours read most of its letters alike, so it
    # is preferred whenever it reads the file as cleanly as the detector's first choice.
    return "cp1252" if "cp1252" in calm else calm[0]


def _decodes(sample: bytes, encoding: str) -> bool:
    try:
        sample.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def detect_delimiter(header_line: str) -> str:
    """The delimiter the header row has most of outside quotes (a comma when it has none)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    return max(DELIMITERS, key=lambda delimiter: (counts[delimiter], -DELIMITERS.index(delimiter)))


# --- reading --------------------------------------------------------------------------------------
def raw_lines(path: Path) -> Iterator[bytes]:
    """The file's lines as bytes, each with its line end, whatever the line ends are (``\\n``,
    ``\\r\\n`` or a lone ``\\r``), read in chunks."""
    with path.open("rb") as handle:
        pending = b""
        while chunk := handle.read(_CHUNK):
            pending += chunk
            start = 0
            for match in _LINE_END.finditer(pending):
                if match.group() == b"\r" and match.end() == len(pending):
                    break  # a "\r" at the chunk's end may be the first half of "\r\n"
                yield pending[start : match.end()]
                start = match.end()
            pending = pending[start:]
        if pending:
            yield pending


def text_lines(path: Path, encoding: str) -> Iterator[str]:
    """The file's lines as text. ASCII-compatible encodings are decoded line by line, so a line that
    isn't in the encoding is named; UTF-16 and UTF-32 as a stream (their line ends aren't bytes)."""
    if encoding in _WIDE:
        with path.open("rb") as binary, io.TextIOWrapper(binary, encoding=encoding, newline="") as text:
            try:
                yield from text
            except UnicodeDecodeError as error:
                raise ImportFileError(
                    f"The file can't be read as {encoding_label(encoding)}: some of its bytes are no "
                    "character there. Choose the file's encoding and read it again. Nothing was imported."
                ) from error
        return
    utf8 = encoding in ("utf-8", "utf-8-sig")
    decode = codecs.getdecoder("utf-8" if utf8 else encoding)
    bom = codecs.BOM_UTF8 if utf8 else b""
    for line_number, raw in enumerate(raw_lines(path), 1):
        if line_number == 1 and bom:
            raw = raw.removeprefix(bom)
        try:
            yield decode(raw)[0]
        except UnicodeDecodeError as error:
            byte = raw[error.start : error.start + 1].hex()
            raise ImportFileError(
                f"Line {line_number} of the file can't be read as {encoding_label(encoding)} text (byte "
                f"0x{byte}): choose the file's encoding (or save it as “CSV UTF-8”) and import it again. "
                "Nothing was imported."
            ) from error


def csv_table(path: Path, *, encoding: str | None = None, delimiter: str | None = None) -> Table:
    """A table over a delimited text file: the encoding and delimiter given, or detected."""
    if encoding:
        encoding = codec_name(encoding)
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ImportFileError(f"“{printable(encoding)}” is not an encoding this import knows.") from None
    else:
        encoding = detect_encoding(path)
    lines = text_lines(path, encoding)
    first_line = next(lines, "")
    lines.close()
    if not first_line.strip():
        raise ImportFileError("The file is empty: the first row must name the columns.")
    if delimiter and delimiter not in DELIMITERS:
        raise ImportFileError(f"“{printable(delimiter)}” is not a delimiter: use , ; tab or |.")
    delimiter = delimiter or detect_delimiter(first_line)
    try:
        headers = next(csv.reader([first_line], delimiter=delimiter), [])
    except csv.Error as error:
        raise ImportFileError(f"The first row can't be read as CSV: {csv_problem(error)}.") from error
    headers = checked_headers([header.removeprefix("\ufeff") for header in headers])
    width = len(headers)

    def open_rows():
        reader = csv.reader(text_lines(path, encoding), delimiter=delimiter)
        next(reader, None)  # the header row, read above
        for cells in reader:
            yield cells[:width]  # cells past the last column name nothing

    line_end = first_line[len(first_line.rstrip("\r\n")) :]
    return Table(
        headers=headers,
        open_rows=open_rows,
        encoding=encoding,
        encoding_label=encoding_label(encoding),
        delimiter=delimiter,
        line_end=line_end,
    )
