"""Reading one contract CSV file as text, with exact line numbers, without crashing.

The raw file is read once as bytes (its SHA-256 is the provenance record) and never
written. Structural faults become :class:`~analysis.data.errors.Problem` objects:
undecodable bytes (with the line), an empty file, a row with the wrong number of
fields (a truncated or shifted row), an unterminated quoted field, duplicated
header names. Rows with the wrong number of fields are reported and left out, so
the rest of the file is still checked.

Record boundaries are found on the bytes with numpy (commas and newlines outside
double quotes), so the physical line of every record is known exactly, even with
blank lines or quoted newlines, and no Python loop runs over rows. pandas' C parser
then reads the well-formed records as text (``dtype=str``; an empty cell is ``""``).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.data.errors import MAX_PER_RULE, Problem

NEWLINE, COMMA, QUOTE = ord("\n"), ord(","), ord('"')


@dataclass
class RawFile:
    """One file as read: every cell a string, indexed by its CSV line number (header = 1)."""

    name: str
    sha256: str
    frame: pd.DataFrame | None          # None when the file could not be parsed at all
    header: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


UTF8_RULE = "not valid UTF-8"


def _utf8_problems(filename: str, data: bytes) -> list[Problem]:
    """Problems naming each line that is not valid UTF-8 (the first ``MAX_PER_RULE``, then a count); [] if none."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return [Problem(filename, 1, None, None,
                        "file is UTF-16 encoded (byte-order mark); the contract requires UTF-8: "
                        "save it again as 'CSV UTF-8'")]
    nul = data.find(b"\x00")
    if nul >= 0:   # valid UTF-8, but no text export holds NUL bytes: UTF-16 without a byte-order mark
        return [Problem(filename, data.count(b"\n", 0, nul) + 1, None, None,
                        "file holds NUL bytes (UTF-16 without a byte-order mark?); "
                        "the contract requires UTF-8: save it again as 'CSV UTF-8'")]
    try:
        data.decode("utf-8")
        return []
    except UnicodeDecodeError:
        pass
    problems: list[Problem] = []
    bad_lines = 0
    offset = 0   # byte offset of the line's start
    for line_no, line in enumerate(data.split(b"\n"), start=1):
        if not line.isascii():
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                bad_lines += 1
                if len(problems) < MAX_PER_RULE:
                    problems.append(Problem(
                        filename, line_no, None, line[:80].decode("utf-8", errors="replace").rstrip("\r"),
                        f"{UTF8_RULE} (byte {line[error.start: error.end].hex(' ')} at byte offset "
                        f"{offset + error.start}; was the file saved as Latin-1/Windows-1252? "
                        "the contract requires UTF-8)"))
        offset += len(line) + 1
    if bad_lines > MAX_PER_RULE:
        problems.append(Problem(filename, None, None, None, UTF8_RULE, more=bad_lines - MAX_PER_RULE))
    return problems


def _records(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Split ``data`` into CSV records.

    Returns (start, end, n_fields) arrays, one entry per record (end excludes the
    newline), and the line number of an unterminated quote (0 if none). Commas and
    newlines inside double quotes do not count; an escaped quote ("") toggles the
    quote state twice, so it leaves it unchanged.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == NEWLINE)
    commas = np.flatnonzero(buf == COMMA)
    open_quote_line = 0
    if data.find(b'"') >= 0:
        quotes = np.flatnonzero(buf == QUOTE)
        # a separator is quoted when an odd number of quote characters precede it
        newlines = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
        commas = commas[np.searchsorted(quotes, commas) % 2 == 0]
        if len(quotes) % 2:
            open_quote_line = data.count(b"\n", 0, int(quotes[-1])) + 1
    ends = newlines
    if len(data) and (len(newlines) == 0 or newlines[-1] != len(data) - 1):
        ends = np.append(newlines, len(data))          # last line without a final newline
    starts = np.concatenate(([0], newlines + 1))[: len(ends)]
    # commas before each record's end, minus those before the previous record's end: one lookup per
    # record (10^6) in the commas (10^7), not one per comma in the records (several times slower)
    n_fields = np.diff(np.searchsorted(commas, ends), prepend=0) + 1
    return starts, ends, n_fields, open_quote_line


_QUOTED_FIELD = re.compile(rb'(?:^|(?<=,))"(?:[^"]|"")*"(?=,|$)')
STRAY_RULE = ("stray '\"' inside an unquoted value (quote the whole value and double the inner quote: "
              "\"5\"\"9\")")


def _has_stray_quote(rest: bytes) -> bool:
    """A quote left after the well-quoted fields are removed is stray unless it opens a field
    (line start or after a comma) or closes a value begun on an earlier line (first field of the line)."""
    for pos in (m.start() for m in re.finditer(rb'"', rest)):
        opens = pos == 0 or rest[pos - 1:pos] == b","
        closes = rest[pos + 1:pos + 2] in (b"", b",") and b"," not in rest[:pos]
        if not (opens or closes):
            return True
    return False


def _stray_quotes(filename: str, data: bytes) -> list[Problem]:
    """Lines with a quote inside an unquoted value (not at a field's start or end), first MAX_PER_RULE."""
    problems: list[Problem] = []
    hits = 0
    for number, line in enumerate(data.split(b"\n"), 1):   # only lines holding a quote are looked at
        if b'"' not in line:
            continue
        if _has_stray_quote(_QUOTED_FIELD.sub(b"", line)):
            hits += 1
            if hits <= MAX_PER_RULE:
                problems.append(Problem(filename, number, None, line[:80].decode("utf-8", "replace"), STRAY_RULE))
    if hits > MAX_PER_RULE:
        problems.append(Problem(filename, None, None, None, STRAY_RULE, more=hits - MAX_PER_RULE))
    return problems


def read_raw_csv(path, filename: str | None = None) -> RawFile:
    """Read ``path`` into a :class:`RawFile`; never raises for bad content."""
    filename = filename or path.name
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    raw = RawFile(name=filename, sha256=digest, frame=None)

    encoding_problems = _utf8_problems(filename, data)
    if encoding_problems:
        raw.problems.extend(encoding_problems)
        return raw
    if data.startswith(codecs.BOM_UTF8):   # Excel's "CSV UTF-8" writes one: tolerated
        data = data[len(codecs.BOM_UTF8):]
    if b"\r" in data:   # CRLF (Windows) and lone CR (classic Mac) end lines too, as for pandas
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if not data.strip():
        raw.problems.append(Problem(filename, None, None, None, "file is empty (no header row)"))
        return raw

    starts, ends, n_fields, open_quote_line = _records(data)
    if open_quote_line:
        stray = _stray_quotes(filename, data)
        raw.problems.extend(stray or [Problem(filename, open_quote_line, None, None,
                                              "unterminated quoted field (a '\"' is never closed; truncated file?)")])
        return raw

    buf = np.frombuffer(data, dtype=np.uint8)
    blank = (ends - starts) == 0   # an empty line: skipped, as pandas does
    # physical line number of each record's first byte
    all_newlines = np.flatnonzero(buf == NEWLINE)
    line_of = np.searchsorted(all_newlines, starts) + 1

    kept = np.flatnonzero(~blank)
    if len(kept) == 0:
        raw.problems.append(Problem(filename, None, None, None, "file is empty (no header row)"))
        return raw
    header_rec = kept[0]
    header_text = data[starts[header_rec]: ends[header_rec]].decode("utf-8")
    try:
        header = next(csv.reader(io.StringIO(header_text, newline="")))
    except (csv.Error, StopIteration) as error:
        raw.problems.append(Problem(filename, int(line_of[header_rec]), None, header_text[:80],
                                    f"header row could not be read: {error}"))
        return raw
    raw.header = header
    seen: set[str] = set()
    for name in header:   # the header is one line: a loop over columns, not rows
        if name in seen:
            raw.problems.append(Problem(filename, int(line_of[header_rec]), name, None,
                                        "column name appears more than once in the header"))
        seen.add(name)
    if any(name in ("", None) for name in header):
        raw.problems.append(Problem(filename, int(line_of[header_rec]), None, header_text[:80],
                                    "header has an empty column name"))
    if raw.problems:
        return raw

    expected = int(n_fields[header_rec])
    body = kept[1:]
    wrong = body[n_fields[body] != expected]
    for rec in wrong[:20]:
        raw.problems.append(Problem(
            filename, int(line_of[rec]), None,
            data[starts[rec]: ends[rec]][:80].decode("utf-8", errors="replace"),
            f"row has {int(n_fields[rec])} fields, the header has {expected} "
            "(truncated or shifted row; a comma inside a value must be quoted)"))
    if len(wrong) > 20:
        raw.problems.append(Problem(filename, None, None, None,
                                    "row has the wrong number of fields (truncated or shifted row)",
                                    more=len(wrong) - 20))
    good = body[n_fields[body] == expected]

    clean = data
    if len(wrong):   # rebuild the text from the header and the well-formed records (vectorised byte mask)
        keep = np.concatenate(([header_rec], good))
        mask = np.zeros(len(buf) + 1, dtype=np.int8)
        np.add.at(mask, starts[keep], 1)
        np.add.at(mask, np.minimum(ends[keep] + 1, len(buf)), -1)
        clean = buf[np.cumsum(mask[:-1], dtype=np.int8).astype(bool)].tobytes()
    if not clean.endswith(b"\n"):
        clean += b"\n"
    try:
        frame = pd.read_csv(io.BytesIO(clean), dtype=str, keep_default_na=False, na_filter=False,
                            encoding="utf-8", skip_blank_lines=True, header=0)
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError) as error:
        raw.problems.append(Problem(filename, None, None, None, f"could not be read as CSV: {error}"))
        return raw
    if len(frame) != len(good):   # the two readers disagree (e.g. a stray quote inside a value)
        raw.problems.extend(_stray_quotes(filename, data) or [Problem(
            filename, None, None, None, f"could not be read as CSV: {len(good)} records found but "
                                        f"{len(frame)} rows parsed (a stray '\"' inside a value?)")])
        return raw
    frame.columns = header
    frame.index = pd.Index(line_of[good], name="line")
    raw.frame = frame
    return raw
