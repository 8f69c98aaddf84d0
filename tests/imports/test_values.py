"""Cell values in many locales: numbers and dates read as canonical text, with hints when a setting is wrong."""
from datetime import datetime
from decimal import Decimal

import pytest

from zarts.services.mapping.csv_values import DECIMALS, parse_date, parse_datetime, parse_number

NOT_A_NUMBER = "not a number (use digits with a '.' or ',' decimal separator, e.g. 1200.50)"
USE_COMMA = "decimal comma (e.g. 1.234,56): set the mapping's decimal separator to ','"
USE_POINT = "decimal point (e.g. 1,234.56): set the mapping's decimal separator to '.'"
MISPLACED = "the thousands separators are in the wrong places"
TURN_ON = "turn on the mapping's \"dates are day first\" setting"
TURN_OFF = "turn off the mapping's \"dates are day first\" setting"


def test_the_decimal_settings():
    assert DECIMALS == ("auto", ".", ",")


@pytest.mark.parametrize("text, value", [
    ("0", "0"), ("12", "12"), ("-12", "-12"), ("+12", "12"), ("1200.50", "1200.50"), ("  1200.50\t", "1200.50"),
    (".5", "0.5"), (",5", "0.5"), ("0.5", "0.5"), ("007", "7"), ("00.50", "0.50"), ("-0", "0"), ("-0.00", "0.00"),
    ("1,234,567.89", "1234567.89"), ("1.234.567,89", "1234567.89"), ("1.234,56", "1234.56"),
    ("1,234.56", "1234.56"), ("1,234,567", "1234567"), ("1.234.567", "1234567"), ("12,5", "12.5"),
    ("1234,56", "1234.56"), ("1,2345", "1.2345"), ("1.2", "1.2"), ("1.23", "1.23"),
    ("1,200", "1200"), ("-1,200", "-1200"), ("999,999", "999999"), ("1.200", "1.200"), ("1.200.000", "1200000"),
    ("0,500", "0.500"), (",500", "0.500"), ("1234,567", "1234.567"), ("1 234,567", "1234567"),
    ("1 234 567,89", "1234567.89"), ("1\u00a0234,50", "1234.50"), ("1\u202f234,50", "1234.50"),
    ("1\u2009234.50", "1234.50"), ("1'234.50", "1234.50"), ("1\u2019234.50", "1234.50"), ("1'234'567", "1234567"),
    ("$1,200.00", "1200.00"), ("1.200,00 €", "1200.00"), ("1.200,00€", "1200.00"), ("£12", "12"), ("¥1,000", "1000"),
    ("₹ 1,234.50", "1234.50"), ("1 234,50 ₽", "1234.50"), ("-$12.50", "-12.50"), ("$-12.50", "-12.50"),
    ("- $ 12.50", "-12.50"), ("$ -12.50", "-12.50"), ("+$12.50", "12.50"), ("(12.50)", "-12.50"),
    ("($12.50)", "-12.50"), ("( $1,200.00 )", "-1200.00"), ("(12,50 €)", "-12.50"), ("(0)", "0"),
    ("−12.50", "-12.50"), ("$−12.50", "-12.50"), ("USD 1,200.00", "1200.00"), ("USD1,200.00", "1200.00"),
    ("1.200,00 EUR", "1200.00"), ("1200EUR", "1200"), ("EUR1200", "1200"), ("-EUR 5", "-5"), ("EUR -5", "-5"),
    ("US$ 1,200", "1200"), ("R$ 1.234,56", "1234.56"), ("HK$12", "12"), ("CHF 1'234.50", "1234.50"),
    ("1'234.50 CHF", "1234.50"), ("Fr. 12.50", "12.50"), ("12 kr", "12"), ("12,50 kr.", "12.50"),
    ("1 234,50 zł", "1234.50"), ("1 234 Kč", "1234"), ("1 234 Ft", "1234"), ("Rs. 1,234", "1234"),
    ("R 1 234,56", "1234.56"), ("١٢٣", "123"), ("１٢3", "123"), ("１２３,５", "123.5"),
    ("1" * 30, "1" * 30), ("0." + "1" * 30, "0." + "1" * 30), ("0" * 40 + "1", "1"),
])
def test_parse_number_auto_reads_each_locale(text, value):
    assert parse_number(text) == value
    assert parse_number(text, "auto") == value


@pytest.mark.parametrize("symbol", list("$€£¥₹₽₩₪₫₺₴₦฿₱₡₲₵₸¢¤"))
def test_any_unicode_currency_symbol_is_dropped_before_or_after(symbol):
    assert parse_number(f"{symbol}1,234.50") == "1234.50"
    assert parse_number(f"1.234,50 {symbol}") == "1234.50"
    assert parse_number(f"-{symbol}5") == "-5"
    assert parse_number(f"({symbol}5)") == "-5"


@pytest.mark.parametrize("text, decimal, value", [
    ("1,234,567.89", ".", "1234567.89"), ("1234567.89", ".", "1234567.89"), ("1,200", ".", "1200"),
    ("1.200", ".", "1.200"), ("1,234", ".", "1234"), ("12", ".", "12"), ("-1 234.5", ".", "-1234.5"),
    (".5", ".", "0.5"), ("$1,000,000", ".", "1000000"),
    ("1.234.567,89", ",", "1234567.89"), ("1234,5", ",", "1234.5"), ("1.200", ",", "1200"), ("1,200", ",", "1.200"),
    ("1.234", ",", "1234"), ("12", ",", "12"), ("(1.234,50 €)", ",", "-1234.50"), (",5", ",", "0.5"),
    ("1 234 567,89", ",", "1234567.89"), ("0,500", ",", "0.500"),
])
def test_parse_number_with_a_fixed_decimal_separator(text, decimal, value):
    assert parse_number(text, decimal) == value


@pytest.mark.parametrize("text, decimal, message", [
    ("1200,50", ".", USE_COMMA), ("1,5", ".", USE_COMMA), ("1.234,56", ".", USE_COMMA), ("0,500", ".", USE_COMMA),
    ("1.234.567", ".", USE_COMMA), ("1.234.567,89", ".", USE_COMMA), ("12,50 €", ".", USE_COMMA),
    ("1,234.50", ",", USE_POINT), ("1.5", ",", USE_POINT), ("1200.50", ",", USE_POINT), ("0.500", ",", USE_POINT),
    ("1,234,567", ",", USE_POINT), ("$1,234,567.89", ",", USE_POINT),
])
def test_a_fixed_separator_that_does_not_fit_names_the_setting_to_change(text, decimal, message):
    with pytest.raises(ValueError, match="looks like it uses a") as error:
        parse_number(text, decimal)
    assert str(error.value).endswith(message)


@pytest.mark.parametrize("text, decimal, message", [
    ("", "auto", "empty (expected a number"), ("   ", ".", "empty (expected a number"),
    ("\u00a0", ",", "empty (expected a number"),
    ("abc", "auto", NOT_A_NUMBER), ("12abc", "auto", NOT_A_NUMBER), ("1 2 x", "auto", NOT_A_NUMBER),
    ("NaN", "auto", NOT_A_NUMBER), ("nan", ".", NOT_A_NUMBER), ("Infinity", "auto", NOT_A_NUMBER),
    ("-inf", ",", NOT_A_NUMBER), ("inf", "auto", NOT_A_NUMBER), ("--5", "auto", NOT_A_NUMBER),
    ("+-5", "auto", NOT_A_NUMBER), ("-$-5", "auto", NOT_A_NUMBER), ("(-5)", "auto", NOT_A_NUMBER),
    ("-(5)", "auto", NOT_A_NUMBER), ("(5", "auto", NOT_A_NUMBER), ("5)", "auto", NOT_A_NUMBER),
    ("()", "auto", NOT_A_NUMBER), ("12-", "auto", NOT_A_NUMBER), ("$", "auto", NOT_A_NUMBER),
    ("USD", "auto", NOT_A_NUMBER), ("$12 USD", "auto", NOT_A_NUMBER), ("usd 12", "auto", NOT_A_NUMBER),
    ("EURO 12", "auto", NOT_A_NUMBER), ("12.", "auto", NOT_A_NUMBER), ("12,", "auto", NOT_A_NUMBER),
    (".", "auto", NOT_A_NUMBER), ("1 000 000 x", "auto", NOT_A_NUMBER), ("12%", "auto", NOT_A_NUMBER),
    ("0x1F", "auto", NOT_A_NUMBER), ("1_000", "auto", NOT_A_NUMBER), ("'123", "auto", NOT_A_NUMBER),
    ("1/2", "auto", NOT_A_NUMBER), ("²", "auto", NOT_A_NUMBER), ("1\n234", "auto", NOT_A_NUMBER),
    ("١٢٣٫٥", "auto", NOT_A_NUMBER),
    ("1e5", "auto", "scientific notation"), ("1.2E+5", "auto", "scientific notation"),
    ("-1,5e-3", "auto", "scientific notation"), ("1.23457E+11", ".", "scientific notation"),
    ("1.2.3", ".", "more than one decimal separator ('.')"), ("1,2,3", ",", "more than one decimal separator (',')"),
    ("1,234.5.6", "auto", "more than one decimal separator ('.')"),
    ("1.234,5,6", "auto", "more than one decimal separator (',')"),
    ("1,23,456", "auto", MISPLACED), ("1,23,456.00", "auto", MISPLACED), ("12,34,567", ".", MISPLACED),
    ("1.2.3", "auto", MISPLACED), ("1,2.5", "auto", MISPLACED), ("1234,567.5", "auto", MISPLACED),
    ("1 23.5", "auto", MISPLACED), ("12 34", "auto", MISPLACED), ("1,,234", "auto", MISPLACED),
    ("1, 234.5", "auto", MISPLACED), ("0,123,456", "auto", MISPLACED), ("1.2345.678,9", ",", MISPLACED),
    ("1234.567 89", "auto", "only digits may follow the decimal separator"),
    ("1" * 31, "auto", "too many digits for a number (at most 30)"),
    ("0." + "1" * 31, "auto", "too many digits for a number (at most 30)"),
    ("1" * 101, "auto", "too long to be a number"),
])
def test_parse_number_refuses_in_plain_words(text, decimal, message):
    with pytest.raises(ValueError) as error:
        parse_number(text, decimal)
    assert message in str(error.value)


def test_an_unknown_decimal_setting_is_refused():
    with pytest.raises(ValueError, match="must be one of auto, ., ,"):
        parse_number("1", ";")


@pytest.mark.parametrize("text", ["1200.50", "1.234,56", "(1,234.56)", "-0.001", "99999999999999999999.9999999999"])
def test_the_canonical_text_is_what_decimal_reads(text):
    value = parse_number(text)
    assert str(Decimal(value)) == value


@pytest.mark.parametrize("text, day_first, value", [
    ("2026-11-05", False, "2026-11-05"), ("2026-11-05", True, "2026-11-05"), (" 2026-11-05 ", False, "2026-11-05"),
    ("2026-1-5", False, "2026-01-05"), ("2026/11/05", False, "2026-11-05"), ("2026.11.05", True, "2026-11-05"),
    ("2026-11-05T09:30:00Z", False, "2026-11-05"), ("2026-11-05T23:30:00-05:00", False, "2026-11-05"),
    ("2026-11-05 14:30", False, "2026-11-05"),
    ("05/11/2026", False, "2026-05-11"), ("05/11/2026", True, "2026-11-05"), ("5/11/2026", True, "2026-11-05"),
    ("11/5/2026", False, "2026-11-05"), ("05.11.2026", True, "2026-11-05"), ("05-11-2026", True, "2026-11-05"),
    ("05-11-2026", False, "2026-05-11"), ("12/25/2026", False, "2026-12-25"), ("25/12/2026", True, "2026-12-25"),
    ("25.12.2026", True, "2026-12-25"), ("29/02/2028", True, "2028-02-29"), ("05/11/2026 14:30", True, "2026-11-05"),
    ("11/5/2026 2:30 PM", False, "2026-11-05"), ("01/01/0001", True, "0001-01-01"), ("31/12/9999", True, "9999-12-31"),
])
def test_parse_date_reads_iso_and_numeric_dates(text, day_first, value):
    assert parse_date(text, day_first) == value


@pytest.mark.parametrize("text, day_first, value", [
    ("2026-11-05", False, "2026-11-05T00:00:00"), ("05/11/2026", True, "2026-11-05T00:00:00"),
    ("2026-11-05T09:30:00", False, "2026-11-05T09:30:00"), ("2026-11-05T09:30", False, "2026-11-05T09:30:00"),
    ("2026-11-05 14:30", False, "2026-11-05T14:30:00"), ("2026-11-05  14:30:15", False, "2026-11-05T14:30:15"),
    ("05/11/2026 14:30", True, "2026-11-05T14:30:00"), ("05/11/2026 14:30:15", True, "2026-11-05T14:30:15"),
    ("05/11/2026 14:30", False, "2026-05-11T14:30:00"), ("5.11.2026 9:05", True, "2026-11-05T09:05:00"),
    ("2026/11/05 09:30:00", False, "2026-11-05T09:30:00"),
    ("2026-11-05T09:30:00Z", False, "2026-11-05T09:30:00+00:00"),
    ("2026-11-05T09:30:00+01:00", False, "2026-11-05T09:30:00+01:00"),
    ("2026-11-05T09:30:00-05:30", False, "2026-11-05T09:30:00-05:30"),
    ("2026-11-05T09:30:00+0100", False, "2026-11-05T09:30:00+01:00"),
    ("2026-11-05T09:30:00+01", False, "2026-11-05T09:30:00+01:00"),
    ("2026-11-05 09:30 UTC", False, "2026-11-05T09:30:00+00:00"),
    ("2026-11-05 09:30 GMT", False, "2026-11-05T09:30:00+00:00"),
    ("2026-11-05T09:30:00.5Z", False, "2026-11-05T09:30:00.500000+00:00"),
    ("2026-11-05T09:30:00.123456", False, "2026-11-05T09:30:00.123456"),
    ("2026-11-05T09:30:00.1234567", False, "2026-11-05T09:30:00.123456"),
    ("2026-11-05 09:30:00,25", False, "2026-11-05T09:30:00.250000"),
    ("11/5/2026 2:30 PM", False, "2026-11-05T14:30:00"), ("11/5/2026 2:30PM", False, "2026-11-05T14:30:00"),
    ("11/5/2026 2:30 p.m.", False, "2026-11-05T14:30:00"), ("11/5/2026 12:05 AM", False, "2026-11-05T00:05:00"),
    ("11/5/2026 12:05 pm", False, "2026-11-05T12:05:00"), ("11/5/2026 11:59:59 PM", False, "2026-11-05T23:59:59"),
    ("05/11/2026 14:30 +02:00", True, "2026-11-05T14:30:00+02:00"), ("2026-11-05 00:00", False, "2026-11-05T00:00:00"),
])
def test_parse_datetime_reads_dates_with_optional_times_and_zones(text, day_first, value):
    assert parse_datetime(text, day_first) == value


@pytest.mark.parametrize("text, aware", [
    ("2026-11-05T09:30:00Z", True), ("2026-11-05T09:30:00+01:00", True), ("2026-11-05 09:30", False),
    ("2026-11-05", False),
])
def test_values_with_a_zone_stay_aware_and_values_without_stay_naive(text, aware):
    assert (datetime.fromisoformat(parse_datetime(text)).tzinfo is not None) is aware


@pytest.mark.parametrize("text, day_first, message", [
    ("", False, "empty (expected a date"), ("  ", True, "empty (expected a date"),
    ("yesterday", False, "not a date"), ("5 Nov 2026", True, "not a date"), ("20261105", False, "not a date"),
    ("46331", False, "not a date"),
    ("2026-11", False, "not a date"), ("05/11", True, "not a date"), ("05/11.2026", True, "not a date"),
    ("2026-11/05", False, "not a date"), ("2026-11-2026", False, "not a date"), ("05/11/202", True, "not a date"),
    ("123/11/2026", True, "not a date"), ("2026-11-05 at noon", False, "not a date"),
    ("2026-11-05T", False, "not a date"),
    ("2026-11-05 9", False, "not a date"), ("05 / 11 / 2026", True, "not a date"),
    ("05/11/26", True, "the year has only two digits: export dates with four-digit years"),
    ("11/5/26", False, "the year has only two digits"), ("05.11.26 14:30", True, "the year has only two digits"),
    ("2026-13-01", False, "not a real date (there is no month 13)"),
    ("2026-00-10", False, "not a real date (there is no month 0)"),
    ("2026-02-30", False, "not a real date (February 2026 has no day 30)"),
    ("2027-02-29", False, "not a real date (February 2027 has no day 29)"),
    ("2026-04-31", False, "not a real date (April 2026 has no day 31)"),
    ("2026-04-00", False, "not a real date (April 2026 has no day 0)"),
    ("0000-01-01", False, "not a real date (there is no year 0)"),
    ("31/04/2026", True, "not a real date (April 2026 has no day 31)"),
    ("04/31/2026", False, "not a real date (April 2026 has no day 31)"),
    ("31/04/2026", False, "not a real date (there is no month 31)"),
    ("13/13/2026", True, "not a real date (there is no month 13)"),
    ("30/02/2026", False, "not a real date (there is no month 30)"),
    ("2026-11-05 24:00", False, "not a real time (hours 0-23"), ("2026-11-05 12:60", False, "not a real time"),
    ("2026-11-05 12:30:61", False, "not a real time"), ("11/5/2026 0:30 AM", False, "not a real time (with AM or PM"),
    ("11/5/2026 13:30 PM", False, "not a real time (with AM or PM the hour is 1-12)"),
    ("2026-11-05T09:30:00+24:00", False, "not a real time zone offset (use Z or +HH:MM"),
    ("2026-11-05T09:30:00+01:60", False, "not a real time zone offset"),
])
def test_parse_date_refuses_in_plain_words(text, day_first, message):
    with pytest.raises(ValueError) as error:
        parse_date(text, day_first)
    assert str(error.value).startswith(message)
    with pytest.raises(ValueError) as error:
        parse_datetime(text, day_first)
    assert str(error.value).startswith(message)


@pytest.mark.parametrize("text, day_first", [("yesterday", False), ("2026-11-05 9", True), ("5 Nov 2026", False)])
def test_not_a_date_shows_the_forms_to_use_in_the_order_the_setting_implies(text, day_first):
    order = "DD/MM/YYYY" if day_first else "MM/DD/YYYY"
    with pytest.raises(ValueError) as error:
        parse_date(text, day_first)
    assert str(error.value) == f"not a date (use YYYY-MM-DD or {order})"
    with pytest.raises(ValueError) as error:
        parse_datetime(text, day_first)
    assert str(error.value) == f"not a date and time (use YYYY-MM-DD HH:MM or {order} HH:MM)"


@pytest.mark.parametrize("text, day_first, hint", [
    ("25/12/2026", False, TURN_ON), ("13/01/2026", False, TURN_ON), ("25.12.2026", False, TURN_ON),
    ("25-12-2026", False, TURN_ON), ("31/01/2026 14:30", False, TURN_ON),
    ("12/25/2026", True, TURN_OFF), ("01/13/2026", True, TURN_OFF), ("12/31/2026 2:30 PM", True, TURN_OFF),
])
def test_a_date_in_the_other_order_names_the_day_first_setting(text, day_first, hint):
    for parse in (parse_date, parse_datetime):
        with pytest.raises(ValueError) as error:
            parse(text, day_first)
        assert "there is no month" in str(error.value) and str(error.value).endswith(hint)
    assert parse_date(text, not day_first)  # the other order reads


def test_the_hint_names_the_order_the_setting_implies():
    with pytest.raises(ValueError, match="in month/day/year order .* if the file writes day/month/year"):
        parse_date("25/12/2026")
    with pytest.raises(ValueError, match="in day/month/year order .* if the file writes month/day/year"):
        parse_date("12/25/2026", day_first=True)
