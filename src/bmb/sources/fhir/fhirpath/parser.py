"""FHIRPath text to syntax tree: a hand-written lexer and precedence-climbing parser.

The grammar is FHIRPath N1 (normative) with its operator precedence, from tightest to
loosest: ``.`` and ``[]``; unary ``+ -``; ``* / div mod``; ``+ - &``; ``is as``; ``|``;
``< > <= >=``; ``= ~ != !~``; ``in contains``; ``and``; ``or xor``; ``implies``.
Parsed trees are cached: a view evaluates the same few expressions millions of times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from bmb.sources.fhir.errors import FhirPathSyntaxError
from bmb.sources.fhir.fhirpath.ast import (
    Binary,
    Call,
    Empty,
    Expr,
    External,
    Index,
    Literal,
    Member,
    Quantity,
    TypeTest,
    Unary,
    Variable,
)
from bmb.sources.fhir.fhirpath.temporal import FPDateTime, FPTime

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<datetime>@\d{4}(?:-\d{2}(?:-\d{2})?)?(?:T(?:\d{2}(?::\d{2}(?::\d{2}(?:\.\d+)?)?)?)?
        (?:Z|[+-]\d{2}:\d{2})?)?)
  | (?P<time>@T\d{2}(?::\d{2}(?::\d{2}(?:\.\d+)?)?)?)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<delimited>`(?:[^`\\]|\\.)*`)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<external>%(?:[A-Za-z_][A-Za-z0-9_]*|`(?:[^`\\]|\\.)*`|'(?:[^'\\]|\\.)*'))
  | (?P<variable>\$(?:this|index|total))
  | (?P<empty>\{\s*\})
  | (?P<op><=|>=|!=|!~|[-+*/&|=~<>()\[\],.])
    """,
    re.VERBOSE | re.DOTALL,
)

_ESCAPES = {
    "'": "'",
    '"': '"',
    "`": "`",
    "\\": "\\",
    "/": "/",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}
_CALENDAR_UNITS = {
    "year": "year",
    "years": "year",
    "month": "month",
    "months": "month",
    "week": "week",
    "weeks": "week",
    "day": "day",
    "days": "day",
    "hour": "hour",
    "hours": "hour",
    "minute": "minute",
    "minutes": "minute",
    "second": "second",
    "seconds": "second",
    "millisecond": "millisecond",
    "milliseconds": "millisecond",
}

_BINARY_LEVELS: list[tuple[str, ...]] = [
    ("implies",),
    ("or", "xor"),
    ("and",),
    ("in", "contains"),
    ("=", "~", "!=", "!~"),
    ("<", ">", "<=", ">="),
    ("|",),
    ("is", "as"),
    ("+", "-", "&"),
    ("*", "/", "div", "mod"),
]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    pos: int


def _unescape(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "u" and i + 5 < len(body):
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise FhirPathSyntaxError(
                f"FHIRPath {text!r}: unexpected character {text[pos]!r} at position {pos}"
            )
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append(_Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    # -- helpers ---------------------------------------------------------------------
    def peek(self, offset: int = 0) -> _Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def next(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, message: str, tok: _Token | None = None) -> FhirPathSyntaxError:
        tok = tok or self.peek()
        where = "at the end" if tok.kind == "end" else f"at position {tok.pos} ({tok.text!r})"
        return FhirPathSyntaxError(f"FHIRPath {self.text!r}: {message} {where}")

    def expect(self, text: str) -> None:
        tok = self.next()
        if tok.text != text or tok.kind not in ("op", "ident"):
            raise self.fail(f"expected {text!r}", tok)

    def _is_operator(self, tok: _Token, ops: tuple[str, ...]) -> bool:
        return tok.text in ops and tok.kind in ("op", "ident")

    # -- grammar ---------------------------------------------------------------------
    def parse(self) -> Expr:
        if self.peek().kind == "end":
            raise self.fail("empty expression")
        expr = self.binary(0)
        if self.peek().kind != "end":
            raise self.fail("unexpected token")
        return expr

    def binary(self, level: int) -> Expr:
        if level == len(_BINARY_LEVELS):
            return self.unary()
        ops = _BINARY_LEVELS[level]
        left = self.binary(level + 1)
        while self._is_operator(self.peek(), ops):
            op = self.next().text
            if op in ("is", "as"):
                left = TypeTest(op, left, self.type_specifier())
            else:
                left = Binary(op, left, self.binary(level + 1))
        return left

    def type_specifier(self) -> str:
        tok = self.next()
        if tok.kind not in ("ident", "delimited"):
            raise self.fail("expected a type name", tok)
        name = tok.text.strip("`")
        if name in ("FHIR", "System") and self.peek().text == ".":
            self.next()
            return self.type_specifier()
        return name

    def unary(self) -> Expr:
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("+", "-"):
            self.next()
            return Unary(tok.text, self.unary())
        return self.postfix(self.term())

    def postfix(self, expr: Expr) -> Expr:
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.text == ".":
                self.next()
                expr = self.invocation(expr)
            elif tok.kind == "op" and tok.text == "[":
                self.next()
                index = self.binary(0)
                self.expect("]")
                expr = Index(expr, index)
            else:
                return expr

    def invocation(self, target: Expr | None) -> Expr:
        tok = self.next()
        if tok.kind == "ident":
            name = tok.text
        elif tok.kind == "delimited":
            name = _unescape(tok.text[1:-1])
        else:
            raise self.fail("expected a name", tok)
        if tok.kind == "ident" and self.peek().text == "(" and self.peek().kind == "op":
            self.next()
            args: list[Expr] = []
            if self.peek().text != ")":
                args.append(self.binary(0))
                while self.peek().text == ",":
                    self.next()
                    args.append(self.binary(0))
            self.expect(")")
            return Call(target, name, tuple(args))
        return Member(target, name)

    def term(self) -> Expr:
        tok = self.peek()
        kind = tok.kind
        if kind == "number":
            self.next()
            value: int | Decimal = Decimal(tok.text) if "." in tok.text else int(tok.text)
            unit = self.peek()
            if unit.kind == "string":
                self.next()
                return Literal(Quantity(Decimal(value), _unescape(unit.text[1:-1])))
            if unit.kind == "ident" and unit.text in _CALENDAR_UNITS:
                self.next()
                return Literal(Quantity(Decimal(value), _CALENDAR_UNITS[unit.text]))
            return Literal(value)
        if kind == "string":
            self.next()
            return Literal(_unescape(tok.text[1:-1]))
        if kind == "datetime":
            self.next()
            body = tok.text[1:]
            parsed = FPDateTime.parse(body.rstrip("T"), date_only="T" not in body)
            if parsed is None:
                raise self.fail("invalid date/time literal", tok)
            return Literal(parsed)
        if kind == "time":
            self.next()
            time = FPTime.parse(tok.text[2:])
            if time is None:
                raise self.fail("invalid time literal", tok)
            return Literal(time)
        if kind == "external":
            self.next()
            body = tok.text[1:]
            return External(_unescape(body[1:-1]) if body[0] in "`'" else body)
        if kind == "variable":
            self.next()
            return Variable(tok.text[1:])
        if kind == "ident" and tok.text in ("true", "false"):
            self.next()
            return Literal(tok.text == "true")
        if kind in ("ident", "delimited"):
            return self.invocation(None)
        if kind == "op" and tok.text == "(":
            self.next()
            inner = self.binary(0)
            self.expect(")")
            return inner
        if kind == "empty":
            self.next()
            return Empty()
        raise self.fail("expected an expression", tok)


@lru_cache(maxsize=4096)
def parse(text: str) -> Expr:
    """Parse a FHIRPath expression, raising :class:`FhirPathSyntaxError` on bad input."""
    if not isinstance(text, str):
        raise FhirPathSyntaxError(f"FHIRPath must be a string, not {type(text).__name__}")
    return _Parser(text).parse()
