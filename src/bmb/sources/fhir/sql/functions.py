"""FHIRPath functions in DuckDB SQL: the ones mapping views use.

Supported: ``where``, ``exists``, ``empty``, ``count``, ``first``, ``last``, ``tail``,
``skip``, ``take``, ``select``, ``all``, ``not``, ``ofType``, ``extension``, ``join``,
``getResourceKey``, ``getReferenceKey``, and the string functions ``lower``,
``upper``, ``length``, ``startsWith``, ``endsWith``, ``contains``. Anything else is
declined and runs on the reference path.
"""

from __future__ import annotations

from dataclasses import replace

from bmb.sources.fhir.fhirpath import ast
from bmb.sources.fhir.model import INEXACT_STRING, STRING_FAMILY
from bmb.sources.fhir.sql.expr import (
    Declined,
    ExprCompiler,
    Scope,
    Sql,
    quote,
    reference_key_sql,
)


def _focus(c: ExprCompiler, expr: ast.Call, scope: Scope) -> Sql:
    return scope.focus if expr.target is None else c.compile(expr.target, scope)


def _arity(expr: ast.Call, low: int, high: int) -> None:
    if not low <= len(expr.args) <= high:
        raise Declined(f"{expr.name}() with {len(expr.args)} arguments")


def _const_int(c: ExprCompiler, arg: ast.Expr, scope: Scope) -> int:
    if (
        isinstance(arg, ast.Literal)
        and isinstance(arg.value, int)
        and not isinstance(arg.value, bool)
    ):
        return arg.value
    if isinstance(arg, ast.External) and isinstance(scope.constants.get(arg.name), int):
        value = scope.constants[arg.name]
        assert isinstance(value, int)
        return value
    raise Declined("a function argument that is not a constant integer")


def _const_str(arg: ast.Expr, scope: Scope) -> str:
    if isinstance(arg, ast.Literal) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.External) and isinstance(scope.constants.get(arg.name), str):
        value = scope.constants[arg.name]
        assert isinstance(value, str)
        return value
    raise Declined("a function argument that is not a constant string")


def _item_scope(c: ExprCompiler, items: Sql, scope: Scope) -> tuple[str, Scope]:
    var = c.var(scope)
    item = Sql(var, False, items.type, node=items.node)
    return var, scope.with_focus(item)


def _where(c: ExprCompiler, target: Sql, crit: ast.Expr, scope: Scope) -> Sql:
    var, inner = _item_scope(c, target, scope)
    cond = c.boolean(c.compile(crit, inner), inner, "where()")
    if target.many:
        sql = f"list_filter({target.sql}, lambda {var}: coalesce({cond}, FALSE))"
        return Sql(sql, True, target.type, node=target.node)
    # A single item: bind it once with a one-element list so the criteria sees it by name.
    keep = f"{var} IS NOT NULL AND coalesce({cond}, FALSE)"
    sql = f"list_filter([{target.sql}], lambda {var}: {keep})[1]"
    return Sql(sql, False, target.type, node=target.node)


def _choice_exists(c: ExprCompiler, target: ast.Expr | None, scope: Scope) -> str | None:
    """``value.exists()`` on a choice element: is any of its typed keys present?"""
    if not isinstance(target, ast.Member):
        return None
    parent = scope.focus if target.target is None else c.compile(target.target, scope)
    if parent.node is None or parent.type is None:
        return None
    info = c.model.element(parent.type, target.name)
    if info is None or not info.choice:
        return None
    var = c.var(scope)
    subject = var if parent.many else parent.sql
    tests = []
    for key, typ in info.json_keys():
        parent.node.child(key, typ, info.is_list)
        tests.append(f'{subject}."{key}" IS NOT NULL')
    present = "(" + " OR ".join(tests) + ")"
    if not parent.many:
        return f"coalesce({present}, FALSE)"
    return f"(len(list_filter({parent.sql}, lambda {var}: {present})) > 0)"


def compile_is(c: ExprCompiler, operand: ast.Expr, wanted: str, scope: Scope) -> Sql:
    """``x is T``: empty for no item, else whether the one item is of type T."""
    if isinstance(operand, ast.Member):
        parent = scope.focus if operand.target is None else c.compile(operand.target, scope)
        info = c.model.element(parent.type, operand.name) if parent.node and parent.type else None
        if info is not None and info.choice and not parent.many:
            assert parent.node is not None
            present, matching = [], []
            for key, typ in info.json_keys():
                parent.node.child(key, typ, info.is_list)
                test = f'{parent.sql}."{key}" IS NOT NULL'
                present.append(test)
                if c.model.is_subtype(typ, wanted):
                    matching.append(test)
            sql = (
                f"(CASE WHEN {' OR '.join(present)} THEN "
                f"{' OR '.join(matching) if matching else 'FALSE'} END)"
            )
            return Sql(sql, False, "boolean")
    value = c.single(c.compile(operand, scope), scope, "is")
    if value.type is None:
        raise Declined(f"is {wanted} on a value of unknown type")
    known = c.model.is_subtype(value.type, wanted) or (
        value.type == INEXACT_STRING and wanted in STRING_FAMILY
    )
    return Sql(f"(CASE WHEN {value.sql} IS NOT NULL THEN {known} END)", False, "boolean")


def _exists(target: Sql) -> Sql:
    sql = f"(len({target.sql}) > 0)" if target.many else f"({target.sql} IS NOT NULL)"
    return Sql(sql, False, "boolean")


def _of_type(c: ExprCompiler, expr: ast.Call, scope: Scope) -> Sql:
    _arity(expr, 1, 1)
    wanted = ast.type_name_of(expr.args[0])
    if wanted is None:
        raise Declined("ofType() without a type name")
    target_expr = expr.target
    if isinstance(target_expr, ast.Member):
        parent = scope.focus if target_expr.target is None else c.compile(target_expr.target, scope)
        info = (
            c.model.element(parent.type, target_expr.name) if parent.node and parent.type else None
        )
        if info is not None and info.choice:
            matches = [(k, t) for k, t in info.json_keys() if c.model.is_subtype(t, wanted)]
            if not matches:
                return Sql("NULL", False, wanted)
            if len(matches) > 1:
                raise Declined(f"ofType({wanted}) matching several choice types")
            key, typ = matches[0]
            return c.navigate(parent, key, typ, info.is_list, scope)
    target = _focus(c, expr, scope)
    if target.type is None:
        raise Declined(f"ofType({wanted}) on a value of unknown type")
    if target.type == INEXACT_STRING and wanted in STRING_FAMILY:
        return target
    if c.model.is_subtype(target.type, wanted) or target.type == wanted:
        return target
    return Sql("NULL", False, wanted)


def _join(c: ExprCompiler, expr: ast.Call, scope: Scope) -> Sql:
    _arity(expr, 0, 1)
    sep = _const_str(expr.args[0], scope) if expr.args else ""
    items = c.typed(_focus(c, expr, scope))
    if items.type not in STRING_FAMILY and items.type not in ("string", INEXACT_STRING):
        raise Declined(f"join() of {items.type}")
    if not items.many:
        return Sql(f"coalesce({items.sql}, '')", False, "string")
    return Sql(f"array_to_string({items.sql}, {quote(sep)})", False, "string")


def _reference_key(c: ExprCompiler, expr: ast.Call, scope: Scope) -> Sql:
    _arity(expr, 0, 1)
    expected = ast.type_name_of(expr.args[0]) if expr.args else None
    if expr.args and expected is None:
        raise Declined("getReferenceKey() with a computed type")
    target = _focus(c, expr, scope)
    if target.node is None or target.type != "Reference":
        raise Declined("getReferenceKey() on something that is not a Reference")
    target.node.child("reference", "string", False)
    target.node.child("type", "uri", False)
    if not target.many:
        return Sql(reference_key_sql(target.sql, expected), False, "id")
    var = c.var(scope)
    keys = f"list_transform({target.sql}, lambda {var}: {reference_key_sql(var, expected)})"
    sql = f"list_filter({keys}, lambda {var}: {var} IS NOT NULL)"
    return Sql(sql, True, "id")


def _string_fn(c: ExprCompiler, expr: ast.Call, scope: Scope) -> Sql:
    value = c.typed(c.single(_focus(c, expr, scope), scope, f"{expr.name}()"))
    if value.type not in STRING_FAMILY and value.type not in ("string", INEXACT_STRING):
        raise Declined(f"{expr.name}() on {value.type}")
    name = expr.name
    if name in ("lower", "upper", "length"):
        _arity(expr, 0, 0)
        typ = "integer" if name == "length" else "string"
        return Sql(f"{name}({value.sql})", False, typ)
    _arity(expr, 1, 1)
    other = _const_str(expr.args[0], scope)
    fn = {"startsWith": "starts_with", "endsWith": "ends_with", "contains": "contains"}[name]
    return Sql(f"{fn}({value.sql}, {quote(other)})", False, "boolean")


def compile_call(c: ExprCompiler, expr: ast.Call, scope: Scope) -> Sql:
    """Compile one function call, or decline it."""
    name = expr.name
    if name == "ofType":
        return _of_type(c, expr, scope)
    if name == "as":
        return c.single(_of_type(c, replace(expr, name="ofType"), scope), scope, "as()")
    if name == "join":
        return _join(c, expr, scope)
    if name == "getReferenceKey":
        return _reference_key(c, expr, scope)
    if name in ("lower", "upper", "length", "startsWith", "endsWith", "contains"):
        return _string_fn(c, expr, scope)
    if name == "getResourceKey":
        _arity(expr, 0, 0)
        target = _focus(c, expr, scope)
        if target.sql != scope.root:
            raise Declined("getResourceKey() away from the resource root")
        return Sql(f'{scope.root}."id"', False, "id")
    if name in ("exists", "empty") and not expr.args:
        present = _choice_exists(c, expr.target, scope)
        if present is not None:
            sql = present if name == "exists" else f"(NOT {present})"
            return Sql(sql, False, "boolean")
    target = _focus(c, expr, scope)
    if name == "where":
        _arity(expr, 1, 1)
        return _where(c, target, expr.args[0], scope)
    if name in ("exists", "empty"):
        _arity(expr, 0, 1)
        if expr.args:
            target = _where(c, target, expr.args[0], scope)
        found = _exists(target)
        return found if name == "exists" else replace(found, sql=f"(NOT {found.sql})")
    if name == "count":
        _arity(expr, 0, 0)
        sql = (
            f"len({target.sql})"
            if target.many
            else f"(CASE WHEN {target.sql} IS NULL THEN 0 ELSE 1 END)"
        )
        return Sql(f"CAST({sql} AS BIGINT)", False, "integer")
    if name == "not":
        _arity(expr, 0, 0)
        return Sql(f"(NOT {c.boolean(target, scope, 'not()')})", False, "boolean")
    if name == "all":
        _arity(expr, 1, 1)
        items = c.as_list(target)
        var, inner = _item_scope(c, items, scope)
        cond = c.boolean(c.compile(expr.args[0], inner), inner, "all()")
        sql = f"(len(list_filter({items.sql}, lambda {var}: NOT coalesce({cond}, FALSE))) = 0)"
        return Sql(sql, False, "boolean")
    if name == "select":
        _arity(expr, 1, 1)
        items = c.as_list(target)
        var, inner = _item_scope(c, items, scope)
        result = c.as_list(c.compile(expr.args[0], inner))
        sql = f"flatten(list_transform({items.sql}, lambda {var}: {result.sql}))"
        return Sql(sql, True, result.type, node=result.node)
    if name == "extension":
        _arity(expr, 1, 1)
        url = _const_str(expr.args[0], scope)
        if target.node is None or target.type is None:
            raise Declined("extension() on a value of unknown structure")
        exts = c.navigate(target, "extension", "Extension", True, scope)
        assert exts.node is not None
        exts.node.child("url", "uri", False)
        var = c.var(scope)
        sql = f'list_filter({exts.sql}, lambda {var}: {var}."url" = {quote(url)})'
        return Sql(sql, True, "Extension", node=exts.node)
    return _subset(c, expr, target, scope)


def _subset(c: ExprCompiler, expr: ast.Call, target: Sql, scope: Scope) -> Sql:
    name = expr.name
    if name == "first":
        _arity(expr, 0, 0)
        if not target.many:
            return target
        return Sql(f"{target.sql}[1]", False, target.type, node=target.node)
    if not target.many:
        target = c.as_list(target)
    if name == "last":
        _arity(expr, 0, 0)
        return Sql(f"{target.sql}[-1]", False, target.type, node=target.node)
    if name == "tail":
        _arity(expr, 0, 0)
        return Sql(f"{target.sql}[2:]", True, target.type, node=target.node)
    if name in ("skip", "take"):
        _arity(expr, 1, 1)
        n = max(0, _const_int(c, expr.args[0], scope))
        sql = f"{target.sql}[{n + 1}:]" if name == "skip" else f"{target.sql}[:{n}]"
        return Sql(sql, True, target.type, node=target.node)
    raise Declined(f"function {name}()")
