"""A small reader over parsed JSON/YAML that remembers where it is.

Both the Circe import and BMB's own YAML form read nested dictionaries; every error
must name the path of the offending entry (``InclusionRules[2].expression.Type``).
Keys are matched case-insensitively (ATLAS exports mix ``PascalCase`` and
``camelCase``), and keys nobody read are reported, so an attribute BMB does not
support fails loudly instead of being silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from bmb.domain.cohort.errors import CohortDefinitionError


class Node:
    """A mapping at ``path`` in a document."""

    def __init__(self, data: Any, path: str, source: str | None) -> None:
        if not isinstance(data, Mapping):
            raise CohortDefinitionError(
                f"expected an object, found {type(data).__name__}", path=path, source=source
            )
        self.path = path
        self.source = source
        self._data: dict[str, Any] = {str(k).lower(): v for k, v in data.items()}
        self._keys = {str(k).lower(): str(k) for k in data}
        self._used: set[str] = set()

    def error(self, message: str, key: str | None = None) -> CohortDefinitionError:
        return CohortDefinitionError(message, path=self.child_path(key), source=self.source)

    def child_path(self, key: str | None) -> str:
        if key is None:
            return self.path
        name = self._keys.get(key.lower(), key)
        return f"{self.path}.{name}" if self.path else name

    def has(self, key: str) -> bool:
        """True if ``key`` is present with a non-null value (and marks it read)."""
        self._used.add(key.lower())
        return self._data.get(key.lower()) is not None

    def raw(self, key: str, default: Any = None) -> Any:
        self._used.add(key.lower())
        value = self._data.get(key.lower())
        return default if value is None else value

    def node(self, key: str) -> Node | None:
        value = self.raw(key)
        return None if value is None else Node(value, self.child_path(key), self.source)

    def nodes(self, key: str) -> list[Node]:
        value = self.raw(key, [])
        if not isinstance(value, list):
            raise self.error("expected a list", key)
        base = self.child_path(key)
        return [Node(v, f"{base}[{i}]", self.source) for i, v in enumerate(value)]

    def get_int(self, key: str, default: int | None = None) -> int | None:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.error(f"expected a whole number, found {value!r}", key)
        try:
            number = float(value)
        except ValueError:
            raise self.error(f"expected a whole number, found {value!r}", key) from None
        if number != int(number):
            raise self.error(f"expected a whole number, found {value!r}", key)
        return int(number)

    def req_int(self, key: str) -> int:
        value = self.get_int(key)
        if value is None:
            raise self.error("is required", key)
        return value

    def get_float(self, key: str) -> float | None:
        value = self.raw(key)
        if value is None:
            return None
        if isinstance(value, bool):
            raise self.error(f"expected a number, found {value!r}", key)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise self.error(f"expected a number, found {value!r}", key) from None

    def get_bool(self, key: str, default: bool = False) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise self.error(f"expected true or false, found {value!r}", key)

    def get_str(self, key: str, default: str | None = None) -> str | None:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, str | int | float):
            raise self.error(f"expected text, found {type(value).__name__}", key)
        return str(value)

    def get_date(self, key: str) -> date | None:
        value = self.raw(key)
        if value is None or value == "":
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            raise self.error(f"expected a date YYYY-MM-DD, found {value!r}", key) from None

    def keys(self) -> list[str]:
        """The original keys, without marking them read."""
        return list(self._keys.values())

    def items(self) -> Iterator[tuple[str, Any]]:
        """(original key, value) pairs, marking all as read."""
        for low, original in self._keys.items():
            self._used.add(low)
            yield original, self._data[low]

    def unread(self, *, ignore: tuple[str, ...] = ()) -> list[str]:
        skip = {k.lower() for k in ignore}
        return [
            self._keys[k]
            for k, v in self._data.items()
            if k not in self._used and k not in skip and v is not None
        ]

    def done(self, what: str, *, ignore: tuple[str, ...] = ()) -> None:
        """Fail on keys nobody read: an unsupported feature must not vanish silently."""
        left = self.unread(ignore=ignore)
        if left:
            raise self.error(f"unsupported {what} attribute", left[0])
