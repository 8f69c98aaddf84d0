"""Hypothesis strategies shared by the property tests."""
from hypothesis import strategies as st


def any_text(max_size=40, min_size=0):
    """Any text at all: lone surrogates, control characters and NULs included, as JSON can carry
    them. (st.text leaves surrogates out whatever its alphabet, so characters are joined by hand.)"""
    chars = st.characters(exclude_categories=()) | st.characters(categories=["Cs", "Cc"])
    return st.lists(chars, min_size=min_size, max_size=max_size).map("".join)
