"""Runs a statement segc compiled for SQL Server or Redshift under their string rules, on
SQLite: neither engine runs here, and both ignore trailing spaces where the other engines
do not (`'a ' = 'a'` is true in `=`, IN, GROUP BY, DISTINCT, ORDER BY, MIN and MAX, even
under a _BIN2 collation on SQL Server; `LEN` does not count them).

Every string column and every MIN or MAX result compares with trailing spaces ignored (a
collation that pads the shorter string with spaces, as the SQL standard's PAD SPACE rule and
both engines do). SQL Server's default column collation is also case-insensitive, like the
usual SQL_Latin1_General_CP1_CI_AS; `COLLATE Latin1_General_100_BIN2` is case-sensitive and
still pads. The few spellings that SQLite lacks are translated token by token: T-SQL's
`[name]`, `N'…'`, `+` before NCHAR or a string, NVARCHAR(MAX), COUNT_BIG, LEFT/RIGHT/LEN/CHARINDEX/NCHAR, and the
PostgreSQL-style `POSITION(a IN b)`, CHR and `COLLATE(value, 'case_sensitive')` of Redshift.
Date and timestamp values are ISO text, which orders as the values do.

Input on stdin (JSON): {"dialect": "sqlserver" | "redshift",
  "tables": [{"name": "app.users", "columns": [["user_id", "INTEGER"], …], "rows": [[…], …]}],
  "statements": ["SELECT …", …]}
Output on stdout (JSON): one {"columns": […], "rows": […]} per statement.
"""

import json
import re
import sqlite3
import sys

BIN2 = "Latin1_General_100_BIN2"


def padded(a, b):
    n = max(len(a), len(b))
    a, b = a.ljust(n), b.ljust(n)
    return (a > b) - (a < b)


def padded_case_insensitive(a, b):
    return padded(a.casefold(), b.casefold())


TOKEN = re.compile(
    r"""
    (?P<comment>--[^\n]*)
  | (?P<string>N?'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")*")
  | (?P<bracketed>\[(?:[^\]]|\]\])*\])
  | (?P<word>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<number>[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)
  | (?P<space>\s+)
  | (?P<other>\|\||<=|>=|<>|!=|.)
    """,
    re.VERBOSE | re.DOTALL,
)


def tokens(sql):
    position = 0
    out = []
    while position < len(sql):
        match = TOKEN.match(sql, position)
        if match is None:
            raise ValueError(f"cannot read the statement at {position}: {sql[position:position + 40]!r}")
        out.append((match.lastgroup, match.group()))
        position = match.end()
    return [t for t in out if t[0] not in ("comment", "space")]


def closing(toks, open_index):
    """The index of the parenthesis closing the one at open_index."""
    depth = 0
    for index in range(open_index, len(toks)):
        if toks[index][1] == "(":
            depth += 1
        elif toks[index][1] == ")":
            depth -= 1
            if depth == 0:
                return index
    raise ValueError("unbalanced parentheses")


def outermost(toks, wanted):
    """The index of the first token `wanted` (without case) outside parentheses."""
    depth = 0
    for position, (_, part) in enumerate(toks):
        depth += part == "("
        depth -= part == ")"
        if depth == 0 and part.upper() == wanted:
            return position
    raise ValueError(f"no {wanted} in {' '.join(text for _, text in toks)}")


def translate(sql, dialect):
    toks = tokens(sql)
    out = []
    index = 0
    while index < len(toks):
        kind, text = toks[index]
        upper = text.upper()
        following = toks[index + 1][1] if index + 1 < len(toks) else ""
        if kind == "string" and text.startswith("N"):
            out.append(text[1:])
        elif kind == "bracketed":
            out.append('"' + text[1:-1].replace("]]", "]").replace('"', '""') + '"')
        elif text == "+" and (
            following.upper() == "NCHAR"
            or (index + 1 < len(toks) and toks[index + 1][0] == "string" and following.startswith("N"))
        ):
            # A string joined to a spelled-out character (`N'x' + NCHAR(92) + N'…'`).
            out.append("||")
        elif (
            kind == "word"
            and upper == "NVARCHAR"
            and following == "("
            and index + 2 < len(toks)
            and toks[index + 2][1].upper() == "MAX"
        ):
            # SQL Server's unbounded text type; SQLite reads a size, not MAX.
            out.append("TEXT")
            index += 3
        elif kind == "word" and upper == "COUNT_BIG":
            out.append("COUNT")
        elif kind == "word" and upper in ("LEFT", "RIGHT") and following == "(":
            # A part of a string compares by the padding rule too.
            end = closing(toks, index + 1)
            call = f"segc_{upper.lower()}({translate_tokens(toks[index + 2:end], dialect)})"
            out.append(f"({call} COLLATE segc_default)")
            index = end
        elif kind == "word" and upper in ("LEN", "LENGTH", "CHARINDEX", "NCHAR", "CHR") and following == "(":
            out.append("segc_" + upper.lower())
        elif kind == "word" and upper in ("MIN", "MAX") and following == "(":
            # The engines compare every string by their padding rule, also a minimum's or
            # maximum's; SQLite would compare an aggregate's result as plain bytes.
            end = closing(toks, index + 1)
            call = f"{upper}({translate_tokens(toks[index + 2:end], dialect)})"
            window = end + 1 < len(toks) and toks[end + 1][1].upper() == "OVER"
            out.append(call if window else f"({call} COLLATE segc_default)")
            index = end
        elif kind == "word" and upper == "POSITION" and following == "(":
            end = closing(toks, index + 1)
            inner = toks[index + 2:end]
            split = outermost(inner, "IN")
            needle = translate_tokens(inner[:split], dialect)
            haystack = translate_tokens(inner[split + 1:], dialect)
            out.append(f"instr({haystack}, {needle})")
            index = end
        elif kind == "word" and upper == "COLLATE" and following == "(":
            # Redshift's COLLATE(value, 'case_sensitive'): the value compared with case, and
            # still by the padding rule.
            end = closing(toks, index + 1)
            inner = toks[index + 2:end]
            split = outermost(inner, ",")
            collation = [text for _, text in inner[split + 1:]]
            if collation not in (["'case_sensitive'"], ["'cs'"]):
                raise ValueError(f"an unexpected collation: {collation}")
            out.append(f"({translate_tokens(inner[:split], dialect)} COLLATE segc_case_sensitive)")
            index = end
        elif kind == "word" and upper in ("DATETIME2", "TIMESTAMP", "DATE") and out and out[-1].upper() == "AS":
            out.append("TEXT")
        else:
            out.append(text)
        index += 1
    return " ".join(out)


def translate_tokens(toks, dialect):
    return translate(" ".join(text for _, text in toks), dialect)


def left(value, n):
    if value is None or n is None:
        return None
    return value[: max(int(n), 0)]


def right(value, n):
    if value is None or n is None:
        return None
    n = max(int(n), 0)
    return value[len(value) - n:] if n else ""


def length_without_trailing_spaces(value):
    return None if value is None else len(value.rstrip(" "))


def charindex(needle, haystack):
    if needle is None or haystack is None:
        return None
    return haystack.find(needle) + 1


def character(code):
    return None if code is None else chr(int(code))


def switch_offset(value, offset):
    """SQL Server's SWITCHOFFSET(value, '+00:00'): the same instant at UTC. Timestamps here are
    ISO text without an offset (datetime2, read at +00:00), which it keeps as they are."""
    if value is None or offset != "+00:00":
        return None if value is None else f"unsupported offset {offset}"
    import datetime

    parsed = datetime.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return value
    return parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None).isoformat(" ")


class BitOr:
    """Redshift's BIT_OR aggregate (SQL Server's statement spells it with MAX and &)."""

    def __init__(self):
        self.value = None

    def step(self, value):
        if value is not None:
            self.value = value if self.value is None else self.value | value

    def finalize(self):
        return self.value


def connect(dialect):
    connection = sqlite3.connect(":memory:")
    default = padded_case_insensitive if dialect == "sqlserver" else padded
    connection.create_collation("segc_default", default)
    connection.create_collation(BIN2, padded)
    connection.create_collation("segc_case_sensitive", padded)
    connection.create_function("segc_left", 2, left, deterministic=True)
    connection.create_function("segc_right", 2, right, deterministic=True)
    # LEN ignores trailing spaces on SQL Server; Redshift's LENGTH is treated the same way,
    # the stricter reading.
    connection.create_function("segc_len", 1, length_without_trailing_spaces, deterministic=True)
    connection.create_function("segc_length", 1, length_without_trailing_spaces, deterministic=True)
    connection.create_function("segc_charindex", 2, charindex, deterministic=True)
    connection.create_function("segc_nchar", 1, character, deterministic=True)
    connection.create_function("segc_chr", 1, character, deterministic=True)
    connection.create_function("SWITCHOFFSET", 2, switch_offset, deterministic=True)
    connection.create_aggregate("BIT_OR", 1, BitOr)
    return connection


COLUMN_TYPES = {
    "INTEGER": "INTEGER",
    "BIGINT": "INTEGER",
    "DOUBLE": "REAL",
    "BOOLEAN": "INTEGER",
    "TIMESTAMP": "TEXT",
    "DATE": "TEXT",
    "VARCHAR": "TEXT COLLATE segc_default",
}


def main():
    request = json.load(sys.stdin)
    dialect = request["dialect"]
    connection = connect(dialect)
    schemas = sorted({t["name"].split(".")[0] for t in request["tables"] if "." in t["name"]})
    for schema in schemas:
        connection.execute(f"ATTACH DATABASE ':memory:' AS \"{schema}\"")
    for table in request["tables"]:
        name = ".".join(f'"{part}"' for part in table["name"].split("."))
        columns = ", ".join(f'"{c}" {COLUMN_TYPES[t]}' for c, t in table["columns"])
        connection.execute(f"CREATE TABLE {name} ({columns})")
        marks = ", ".join("?" for _ in table["columns"])
        connection.executemany(f"INSERT INTO {name} VALUES ({marks})", table["rows"])
    results = []
    for statement in request["statements"]:
        translated = translate(statement, dialect)
        try:
            cursor = connection.execute(translated)
        except sqlite3.Error as error:
            sys.exit(f"SQLite refused the translated statement: {error}\n{translated}")
        results.append(
            {
                "columns": [d[0] for d in cursor.description],
                "rows": [list(row) for row in cursor.fetchall()],
            }
        )
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
