"""Reading uploaded files: encodings, delimiters, and every kind of bad file gets a clear error."""
import hashlib
import os

import pytest

from tests.imports.conftest import HEADER, check, leads, leads_file, upload
from zarts.extensions import db
from zarts.models import CsvImport, CsvImportChunk, NormalizedEvent
from zarts.services.imports import csv_import, csv_parse
from zarts.services.imports.csv_parse import FileProblem


@pytest.mark.parametrize("data, encoding", [
    (leads_file(2), "utf-8"),
    (b"\xef\xbb\xbf" + leads_file(2), "utf-8-sig"),
    ((HEADER + "L-1,jose@example.com,José Núñez,new,1,2026-11-01\n").encode("latin-1"), "latin-1"),
])
def test_encoding_is_detected(app, connection, data, encoding):
    imp = check(upload(connection, data))
    assert imp.encoding == encoding
    assert imp.headers[0] == "row_key"  # a BOM never sticks to the first header
    assert imp.counts["failed"] == 0, imp.row_errors


def test_latin1_text_arrives_intact(app, connection):
    data = (HEADER + "L-1,jose@example.com,José Núñez,new,1,2026-11-01\n").encode("latin-1")
    from tests.imports.conftest import do_import

    do_import(check(upload(connection, data)))
    record = db.session.scalar(db.select(NormalizedEvent).filter_by(object_type="lead"))
    assert record.fields["name"] == "José Núñez"


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_is_detected(app, connection, delimiter):
    data = (HEADER + leads(3)).replace(",", delimiter).encode()
    imp = check(upload(connection, data))
    assert imp.delimiter == delimiter
    assert imp.counts["created"] == 3, imp.row_errors


def test_quoted_fields_may_hold_delimiters_quotes_and_newlines(app, connection):
    data = (HEADER + 'L-1,a@example.com,"Doe, Jane ""JD""\nSecond line",new,1,2026-11-01\n' + leads(1, start=2)).encode()
    imp = check(upload(connection, data))
    assert imp.counts["created"] == 2 and imp.total_rows == 2, imp.row_errors


def test_crlf_line_endings_and_blank_rows(app, connection):
    data = (HEADER + leads(2) + ",,,,,\n\n" + leads(1, start=3)).replace("\n", "\r\n").encode()
    imp = check(upload(connection, data))
    assert (imp.total_rows, imp.counts["created"], imp.counts["failed"]) == (3, 3, 0)


BAD_FILES = {
    "empty": (b"", "The file is empty."),
    "only blank lines": (b"\n \n\r\n", "The file is empty."),
    "header only": (HEADER.encode(), "The file has a header row but no data rows."),
    "header and blank rows": (HEADER.encode() + b",,,,,\n\n", "The file has a header row but no data rows."),
    "binary data": (bytes(range(256)) * 20, "binary data"),
    "random bytes": (os.urandom(4096).replace(b"\x00", b"\x01"), "binary data"),
    "a NUL byte deep inside": (leads_file(1000) + b"L-x,\x00\n", "binary data (NUL bytes)"),
    "an Excel workbook": (b"PK\x03\x04\x14\x00\x06\x00" + b"x" * 200, "Excel workbook (.xlsx): export it as CSV"),
    "UTF-16": (leads_file(1).decode().encode("utf-16"), "UTF-16"),
    "a 1 MB single line": (b"x" * 1_000_000, "Line 1 is longer than 131,072 characters"),
    "a 1 MB single line of commas": (b"a," * 500_000, "Line 1 is longer than 131,072 characters"),
    "a 1 MB data line": (HEADER.encode() + b"y" * 1_000_000 + b"\n", "Line 2 is longer than 131,072 characters"),
    "a header name twice": (b"row_key,email,Email\nL-1,a@b.co,c\n", "the column 'Email' appears twice"),
    "a nameless column": (b"row_key,,email\nL-1,x,a@b.co\n", "column 2 of the header row has no name"),
    "too many columns": ((",".join(f"c{i}" for i in range(600)) + "\n1\n").encode(), "600 columns (at most 500)"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_file_is_refused_with_a_clear_error_and_nothing_is_stored(app, connection, name):
    data, message = BAD_FILES[name]
    with pytest.raises(FileProblem) as caught:
        upload(connection, data)
    assert message in str(caught.value)
    assert db.session.scalar(db.select(db.func.count(CsvImport.id))) == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(CsvImportChunk)) == 0


def test_a_file_over_the_size_limit_is_refused(app, connection):
    app.config["CSV_MAX_BYTES"] = 1000
    with pytest.raises(FileProblem, match="larger than"):
        upload(connection, leads_file(100))
    assert upload(connection, leads_file(3)).size < 1000


def test_mismatched_column_counts_are_row_errors(app, connection):
    data = (HEADER + leads(1) + "L-2,b@example.com,B,new\n" + "L-3,c@example.com,C,new,1,2026-11-01,extra\n").encode()
    imp = check(upload(connection, data))
    assert (imp.counts["created"], imp.counts["failed"]) == (1, 2)
    assert [(e["line"], e["message"]) for e in imp.row_errors] == [
        (3, "the row has 4 values but the header has 6 columns"),
        (4, "the row has 7 values but the header has 6 columns"),
    ]


def test_a_stray_quote_spoils_one_row_and_reading_goes_on(app, connection):
    data = (HEADER + leads(1) + 'L-2,"b@example.com"x,B,new,1,2026-11-01\n' + leads(1, start=3)).encode()
    imp = check(upload(connection, data))
    assert (imp.counts["created"], imp.counts["failed"]) == (2, 1)
    assert imp.row_errors[0]["line"] == 3 and "stray or unclosed quote" in imp.row_errors[0]["message"]


def test_an_unclosed_quote_is_reported_where_it_starts(app, connection):
    data = (HEADER + leads(1) + 'L-2,"b@example.com,B,new,1,2026-11-01\n' + leads(3, start=3)).encode()
    imp = check(upload(connection, data))
    assert imp.counts["failed"] == 1
    assert imp.row_errors[0]["line"] == 3 and "unclosed quote" in imp.row_errors[0]["message"]


def test_wrong_types_are_row_errors_with_line_column_value_and_message(app, connection):
    data = (HEADER + leads(1)
            + "L-2,not-an-email,B,new,1,2026-11-01\n"
            + "L-3,c@example.com,C,sleeping,1,2026-11-01\n"
            + "L-4,d@example.com,D,new,12abc,2026-11-01\n"
            + "L-5,e@example.com,E,new,1,31/11/2026\n"
            + ",f@example.com,F,new,1,2026-11-01\n"
            + "L-7,,G,new,1,2026-11-01\n").encode()
    imp = upload(connection, data)
    section = csv_import.proposed_section(imp)
    section["columns"]["email"]["required"] = True  # the admin may say a target is required
    imp = check(imp, section)
    assert (imp.counts["created"], imp.counts["failed"]) == (1, 6)
    errors = [(e["line"], e["column"], e["value"], e["message"].split(" (")[0]) for e in imp.row_errors]
    assert errors == [
        (3, "email", "not-an-email", "not an email address"),
        (4, "stage", "sleeping", "not one of the allowed values"),
        (5, "value", "12abc", "not a number"),
        (6, "created", "31/11/2026", "not a real date"),
        (7, "row_key", "", "the key must be 1-255 characters"),
        (8, "email", "", "a value is required"),
    ]


def test_unknown_columns_are_kept_as_fields_unless_ignored(app, connection):
    from tests.imports.conftest import do_import

    data = (HEADER.strip() + ",Favourite Colour\n" + leads(2).replace("\n", ",blue\n")).encode()
    imp = do_import(check(upload(connection, data)))
    assert imp.counts["created"] == 2
    record = db.session.scalar(db.select(NormalizedEvent).where(NormalizedEvent.external_id == "L-1"))
    assert record.fields["favourite_colour"] == "blue" and record.fields["email"] == "lead1@example.com"

    data = (HEADER.strip() + ",Favourite Colour\n" + leads(1, start=3).replace("\n", ",red\n")).encode()
    imp = upload(connection, data)
    imp = do_import(check(imp, {**csv_import.proposed_section(imp), "ignore": ["Favourite Colour"]}))
    record = db.session.scalar(db.select(NormalizedEvent).where(NormalizedEvent.external_id == "L-3"))
    assert "favourite_colour" not in record.fields


def test_only_the_key_column_is_required_by_default(app, connection):
    imp = check(upload(connection, b"row_key,name\nL-1,A\n"))
    assert imp.status == "dry_run" and imp.counts["created"] == 1
    imp = upload(connection, b"name,stage\nA,new\n")
    with pytest.raises(csv_import.DomainError, match="choose the column that holds each row's key"):
        csv_import.start_check(imp, csv_import.proposed_section(imp))


def test_a_missing_required_column_stops_the_check(app, connection):
    imp = upload(connection, b"row_key,name,stage\nL-1,A,new\n")
    section = csv_import.proposed_section(imp)
    section["columns"]["email"]["required"] = True
    with pytest.raises(csv_import.DomainError, match="required column for 'email' is missing"):
        csv_import.start_check(imp, section)


def test_the_stored_file_streams_back_in_chunks(app, connection, monkeypatch):
    monkeypatch.setattr(csv_parse, "CHUNK_BYTES", 64)
    data = leads_file(50)
    imp = upload(connection, data)
    assert db.session.scalar(db.select(db.func.count()).select_from(CsvImportChunk)) == -(-len(data) // 64)
    reader, rows = csv_parse.data_records(imp.id, imp.encoding, imp.delimiter)
    assert [line for line, _ in rows] == list(range(2, 52))
    assert reader.bytes_read == len(data)
    assert imp.sha256 == hashlib.sha256(data).hexdigest() and imp.size == len(data)
