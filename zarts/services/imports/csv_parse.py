"""Reading an uploaded CSV file: store it in chunks, detect encoding and delimiter, stream its records.

The file is checked once while it is stored (size, SHA-256, binary data, whether it is valid
UTF-8), then read back chunk by chunk from the database whenever it is needed, so neither the
web process nor a worker on another host ever holds the whole file in memory.
"""
import codecs
import csv
import hashlib
import io
from dataclasses import dataclass

from sqlalchemy import insert, select

from ...extensions import db
from ...models import CsvImportChunk
from .. import DomainError

CHUNK_BYTES = 1 << 20  # below MySQL's default max_allowed_packet (16 MiB) with room to spare
MAX_LINE_CHARS = 131_072  # csv's own field size limit; a real row is far shorter
MAX_COLUMNS = 500
DELIMITERS = (",", ";", "\t")
ENCODINGS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "latin-1": "Latin-1"}
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
# File signatures of things people upload by mistake.
MAGIC = ((b"PK\x03\x04", "a ZIP archive or an Excel workbook (.xlsx): export it as CSV"),
         (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls): export it as CSV"),
         (b"%PDF", "a PDF document"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
         (b"GIF8", "a GIF image"), (b"\x1f\x8b", "a gzip archive"),
         (b"\xff\xfe", "UTF-16 text: save it as UTF-8 CSV"), (b"\xfe\xff", "UTF-16 text: save it as UTF-8 CSV"))
CONTROL_BYTES = frozenset(range(0, 32)) - {9, 10, 12, 13}


class FileProblem(DomainError):
    """The file cannot be read as CSV; the message says why, for the admin."""


class FileTooLarge(FileProblem):
    """The file is over the configured upload limit."""


@dataclass(frozen=True)
class BadRecord:
    """A record the csv module refused (stray quote, unclosed quote at the end); reading goes on after it."""

    message: str


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    encoding: str


def store(import_id, stream, max_bytes):
    """Copy a binary stream into the import's chunks (current transaction) and check it on the way."""
    digest, size, seq = hashlib.sha256(), 0, 0
    utf8, utf8_ok, head = codecs.getincrementaldecoder("utf-8")(), True, b""
    while chunk := stream.read(CHUNK_BYTES):
        size += len(chunk)
        if size > max_bytes:
            raise FileTooLarge(f"The file is larger than {max_bytes / 1048576:,.0f} MB, the upload limit.")
        if seq == 0:
            head = chunk[:4096]
            _check_head(head)
        if b"\x00" in chunk:
            raise FileProblem("The file contains binary data (NUL bytes), not CSV text.")
        if utf8_ok:
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError:
                utf8_ok = False
        digest.update(chunk)
        db.session.execute(insert(CsvImportChunk.__table__), {"import_id": import_id, "seq": seq, "data": chunk})
        seq += 1
    if utf8_ok:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    if size == 0:
        raise FileProblem("The file is empty.")
    encoding = ("utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8") if utf8_ok else "latin-1"
    return StoredFile(digest.hexdigest(), size, encoding)


def _check_head(head):
    for magic, what in MAGIC:
        if head.startswith(magic):
            raise FileProblem(f"This looks like {what}, not a CSV file.")
    controls = sum(1 for byte in head if byte in CONTROL_BYTES)
    if controls > max(2, len(head) // 100):
        raise FileProblem("The file contains binary data (control characters), not CSV text.")


class _ChunkStream(io.RawIOBase):
    """The stored chunks of one import as a readable binary stream, one chunk in memory at a time."""

    def __init__(self, import_id):
        self.import_id, self.seq, self.buffer, self.offset = import_id, 0, b"", 0
        self.bytes_read = 0

    def readable(self):
        return True

    def readinto(self, target):
        if self.offset >= len(self.buffer):
            data = db.session.scalar(select(CsvImportChunk.data).where(
                CsvImportChunk.import_id == self.import_id, CsvImportChunk.seq == self.seq))
            if data is None:
                return 0
            self.buffer, self.offset, self.seq = bytes(data), 0, self.seq + 1
        n = min(len(target), len(self.buffer) - self.offset)
        target[:n] = self.buffer[self.offset:self.offset + n]
        self.offset += n
        self.bytes_read += n
        return n


class Reader:
    """Records of a stored file as (line number, cells); raises FileProblem on what cannot be read."""

    def __init__(self, import_id, encoding, delimiter):
        self.raw = _ChunkStream(import_id)
        self.text = io.TextIOWrapper(io.BufferedReader(self.raw, CHUNK_BYTES), encoding=encoding, newline="")
        self.physical = 0  # physical lines read so far
        self.csv = csv.reader(self._lines(), delimiter=delimiter, strict=True)

    @property
    def bytes_read(self):
        return self.raw.bytes_read

    def _lines(self):
        while line := self.text.readline(MAX_LINE_CHARS + 2):
            self.physical += 1
            if len(line.rstrip("\r\n")) > MAX_LINE_CHARS:
                raise FileProblem(f"Line {self.physical} is longer than {MAX_LINE_CHARS:,} characters; "
                                  "is this really a CSV file?")
            yield line

    def __iter__(self):
        while True:
            start = self.physical + 1
            try:
                cells = next(self.csv)
            except StopIteration:
                return
            except csv.Error as exc:  # the reader starts afresh on the next line
                cells = BadRecord(f"not valid CSV here ({exc}); look for a stray or unclosed quote")
            except UnicodeDecodeError:
                raise FileProblem(f"Line {start}: the text is not valid in the detected encoding.") from None
            yield start, cells


def detect_delimiter(import_id, encoding):
    """The delimiter that splits the header line into the most columns (comma on a tie)."""
    text = io.TextIOWrapper(io.BufferedReader(_ChunkStream(import_id), CHUNK_BYTES), encoding=encoding,
                            newline="")
    first = text.readline(MAX_LINE_CHARS + 2)
    best, most = ",", 0
    for delimiter in DELIMITERS:
        try:
            count = len(next(csv.reader([first], delimiter=delimiter), []))
        except csv.Error:
            continue
        if count > most:
            best, most = delimiter, count
    return best


def read_header(import_id, encoding, delimiter):
    """The header row's names, checked; FileProblem when the file has no usable header or no data."""
    records = iter(Reader(import_id, encoding, delimiter))
    line, header = next(((n, cells) for n, cells in records if not _blank(cells)), (None, None))
    if header is None:
        raise FileProblem("The file is empty.")
    if isinstance(header, BadRecord):
        raise FileProblem(f"Line {line}: the header row is {header.message}.")
    if len(header) > MAX_COLUMNS:
        raise FileProblem(f"Line {line}: the header row has {len(header):,} columns (at most {MAX_COLUMNS}).")
    names = [name.strip() for name in header]
    for i, name in enumerate(names, 1):
        if not name:
            raise FileProblem(f"Line {line}: column {i} of the header row has no name.")
        if len(name) > 255:
            raise FileProblem(f"Line {line}: the name of column {i} is longer than 255 characters.")
    seen = set()
    for name in names:
        if name.casefold() in seen:
            raise FileProblem(f"Line {line}: the column '{name}' appears twice in the header row.")
        seen.add(name.casefold())
    if all(_blank(cells) for _, cells in records):
        raise FileProblem("The file has a header row but no data rows.")
    return names


def _blank(cells):
    return not isinstance(cells, BadRecord) and not any(c.strip() for c in cells)


def data_records(import_id, encoding, delimiter):
    """(reader, iterator of (line, cells or BadRecord)) for the data rows; the header and blank rows are skipped."""
    reader = Reader(import_id, encoding, delimiter)

    def rows():
        header_seen = False
        for line, cells in reader:
            if _blank(cells):
                continue
            if header_seen:
                yield line, cells
            header_seen = True

    return reader, rows()
