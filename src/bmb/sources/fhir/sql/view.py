"""A whole ViewDefinition as one DuckDB query over a relation of JSON resources.

Each selection structure becomes either a single row of column expressions or a SQL
list of row structs: ``forEach`` maps a lambda over the focus list (its 1-based
position gives ``%rowIndex``), ``forEachOrNull`` adds a row of nulls for an empty
list, nested selects multiply (a Cartesian product of lists built with nested
``list_transform``), ``unionAll`` concatenates. The top level unnests the row list,
so a resource yields zero, one or many rows in one vectorized pass (ADR 0011).
``repeat`` (recursion) is declined.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import count

from bmb.sources.fhir.column_types import column_fhir_types, sql_type
from bmb.sources.fhir.sql import schema as schema_
from bmb.sources.fhir.sql.expr import Declined, ExprCompiler, Scope, Sql, quote
from bmb.sources.fhir.viewdef import Column, Select, ViewDefinition

ROOT = "_p"


@dataclass
class _Rows:
    """Partial rows: one row of expressions (``multi`` None) or a list of structs."""

    names: list[str]
    single: dict[str, str] = field(default_factory=dict)
    multi: list[tuple[str, list[str]]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CompiledView:
    """A view as SQL over ``{source}``, a relation with the struct column ``_p``."""

    view: ViewDefinition
    sql: str
    types: dict[str, str | None]
    schema: schema_.Field

    def query(self, source: str) -> str:
        """The query reading resources from ``source`` (a subquery giving ``_p``)."""
        return self.sql.replace("{source}", source)

    def over_files(self, paths: list[str]) -> str:
        """The query over NDJSON files (plain or .gz), parsed once into the view's struct."""
        files = "[" + ", ".join(quote(p) for p in paths) + "]"
        columns = schema_.read_json_columns(self.schema)
        source = (
            f"(SELECT {schema_.pack_columns(self.schema)} AS {ROOT} FROM read_json({files}, "
            f"format='newline_delimited', columns={columns}))"
        )
        return self.query(source)

    def over_mixed_files(self, paths: list[str]) -> str:
        """The query over NDJSON files holding several resource types (slower, lenient)."""
        files = "[" + ", ".join(quote(p) for p in paths) + "]"
        spec = quote(schema_.transform(self.schema))
        want = quote(self.view.resource)
        source = (
            f"(SELECT json_transform(json, {spec}) AS {ROOT} FROM read_json_objects({files}, "
            f"format='newline_delimited') "
            f"WHERE json_extract_string(json, '$.resourceType') = {want})"
        )
        return self.query(source)

    def over_json(self, relation: str, column: str = "r") -> str:
        """The query over a relation whose ``column`` holds one resource as JSON text."""
        spec = quote(schema_.transform(self.schema))
        source = f"(SELECT json_transform({column}, {spec}) AS {ROOT} FROM {relation})"
        return self.query(source)


class ViewCompiler:
    """Compiles a validated ViewDefinition, or raises :class:`Declined`."""

    def __init__(self, view: ViewDefinition) -> None:
        self.view = view
        self.exprs = ExprCompiler()
        self.types = column_fhir_types(view)
        self.names: count[int] = count(1)
        self.constants = {c.name: c.value for c in view.constants}
        self.schema = schema_.root(view.resource)

    def _scope(self, focus: Sql, row_index: str) -> Scope:
        return Scope(focus, row_index, self.constants, ROOT, self.view.resource, self.names)

    # -- columns ----------------------------------------------------------------------
    def column(self, col: Column, scope: Scope) -> str:
        value = self.exprs.compile(col.expr, scope)
        fhir_type = self.types[col.name]
        target = sql_type(fhir_type)
        if col.collection:
            items = self.exprs.as_list(value)
            return f"CAST({self._as_output(items, target)} AS {target}[])"
        hint = 'set "collection": true or pick one (e.g. first())'
        one = self.exprs.single(value, scope, f"column {col.name!r} ({col.location})", hint)
        return f"CAST({self._as_output(one, target)} AS {target})"

    def _as_output(self, value: Sql, target: str) -> str:
        return self.exprs.typed(value).sql

    def null_row(self, sel: Select) -> str:
        """The struct of a forEachOrNull with nothing to iterate: nulls, %rowIndex 0."""
        fields = []
        for col in sel.output_columns():
            typ = sql_type(self.types[col.name], col.collection)
            own = col in sel.columns and col.path.strip() == "%rowIndex"
            fields.append(f"{quote(col.name)}: CAST({'0' if own else 'NULL'} AS {typ})")
        return "{" + ", ".join(fields) + "}"

    # -- selection structures -----------------------------------------------------------
    def select(self, sel: Select, scope: Scope) -> _Rows:
        names = [c.name for c in sel.output_columns()]
        if sel.iterate == "repeat":
            raise Declined("repeat (recursive traversal)")
        if sel.iterate is None:
            return self.inner(sel, scope, names)
        raw = self.exprs.compile(sel.exprs[0], scope)
        if (
            sel.iterate == "forEachOrNull"
            and not raw.many
            and not sel.selects
            and not sel.union_all
        ):
            return self.optional_row(sel, raw, scope, names)
        foci = self.exprs.as_list(raw)
        var, index = f"_f{next(self.names)}", f"_i{next(self.names)}"
        focus = Sql(var, False, foci.type, foci.node)
        inner_scope = self._scope(focus, f"CAST({index} - 1 AS BIGINT)")
        rows = self.as_list(self.inner(sel, inner_scope, names))
        sql = f"flatten(list_transform({foci.sql}, lambda {var}, {index}: {rows}))"
        if sel.iterate == "forEachOrNull":
            sql = f"(CASE WHEN len({foci.sql}) = 0 THEN [{self.null_row(sel)}] ELSE {sql} END)"
        return _Rows(names, multi=[(sql, names)])

    def optional_row(self, sel: Select, focus: Sql, scope: Scope, names: list[str]) -> _Rows:
        """forEachOrNull over at most one item: always one row, no list to unnest.

        ``name.where(use = 'official').first()`` is the common case; its columns are
        evaluated on the item itself and are null when there is none, as the spec's
        null row is (``%rowIndex`` stays 0).
        """
        inner_scope = self._scope(replace(focus, chain=None), "CAST(0 AS BIGINT)")
        single: dict[str, str] = {}
        for col in sel.columns:
            value = self.column(col, inner_scope)
            if col.path.strip() != "%rowIndex":
                value = f"(CASE WHEN ({focus.sql}) IS NULL THEN NULL ELSE {value} END)"
            single[col.name] = value
        return _Rows(names, single)

    def inner(self, sel: Select, scope: Scope, names: list[str]) -> _Rows:
        parts: list[_Rows] = []
        if sel.columns:
            own = [c.name for c in sel.columns]
            parts.append(_Rows(own, {c.name: self.column(c, scope) for c in sel.columns}))
        for child in sel.selects:
            parts.append(self.select(child, scope))
        if sel.union_all:
            branches = [self.as_list(self.select(b, scope)) for b in sel.union_all]
            union_names = [c.name for c in sel.union_all[0].output_columns()]
            sql = branches[0] if len(branches) == 1 else f"list_concat({', '.join(branches)})"
            parts.append(_Rows(union_names, multi=[(sql, union_names)]))
        merged = _Rows(names)
        for part in parts:
            merged.single.update(part.single)
            merged.multi.extend(part.multi)
        return merged

    def as_list(self, rows: _Rows) -> str:
        """Partial rows as one SQL list of structs with fields in ``rows.names`` order."""
        if not rows.multi:
            return "[" + self.struct(rows, {}) + "]"
        bound = {}
        vars_ = []
        for sql, names in rows.multi:
            var = f"_m{next(self.names)}"
            vars_.append((var, sql))
            for name in names:
                bound[name] = f'{var}."{name}"'
        body = self.struct(rows, bound)
        for i, (var, sql) in enumerate(reversed(vars_)):
            body = f"list_transform({sql}, lambda {var}: {body})"
            if i > 0:
                body = f"flatten({body})"
        return body

    def struct(self, rows: _Rows, bound: dict[str, str]) -> str:
        fields = [f"{quote(n)}: {rows.single.get(n) or bound[n]}" for n in rows.names]
        return "{" + ", ".join(fields) + "}"

    # -- the query ----------------------------------------------------------------------
    def compile(self) -> CompiledView:
        root = Sql(ROOT, False, self.view.resource, self.schema)
        scope = self._scope(root, "CAST(0 AS BIGINT)")
        rows = self.inner(self.view.root, scope, [c.name for c in self.view.columns])
        filters = [f'{ROOT}."resourceType" = {quote(self.view.resource)}']
        for where in self.view.where:
            cond = self.exprs.boolean(self.exprs.compile(where.expr, scope), scope, where.location)
            filters.append(f"coalesce({cond}, FALSE)")
        where_sql = " AND ".join(filters)
        names = [c.name for c in self.view.columns]
        if not rows.multi:
            cols = ", ".join(f'{rows.single[n]} AS "{n}"' for n in names)
            sql = f"SELECT {cols} FROM {{source}} WHERE {where_sql}"
        else:
            multi_only = _Rows([n for sql_, ns in rows.multi for n in ns], multi=rows.multi)
            listed = self.as_list(multi_only)
            inner_cols = [f'{sql_} AS "{n}"' for n, sql_ in rows.single.items()]
            inner_cols.append(f"unnest({listed}) AS _row")
            outer = ", ".join(
                f'"{n}"' if n in rows.single else f'_row."{n}" AS "{n}"' for n in names
            )
            sql = (
                f"SELECT {outer} FROM (SELECT {', '.join(inner_cols)} "
                f"FROM {{source}} WHERE {where_sql})"
            )
        return CompiledView(self.view, sql, self.types, self.schema)


def compile_view(view: ViewDefinition) -> CompiledView:
    """Compile ``view`` to DuckDB SQL, or raise :class:`Declined` saying why not."""
    return ViewCompiler(view).compile()
