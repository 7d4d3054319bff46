"""Finds code that writes a ledger outside the ledger's own writer module, by reading the syntax
tree (not lines of text), so a write split over several lines, held in a variable first, or put
together as an f-string of SQL is found as well as a one-line ORM call.

What counts as a write of ledger model M (PointsEntry, Wallet, ...) or its table:
- a write method (create, update, delete, save, bulk_create, ...) called on anything built from
  M (`M.objects.filter(...)\n    .update(...)`), or on a name bound to such a thing;
- building an M (`M(...)`): only the writer makes rows to insert;
- a core.sql writer helper given M (`insert_sql(M, ...)`, `update_sql(M, ...)`);
- SQL text (a string, an f-string, a concatenation or a % / format) that INSERTs into, UPDATEs,
  DELETEs FROM, TRUNCATEs or COPYs into M's table, named literally or as `{M._meta.db_table}`.
"""

import ast
import re

WRITE_METHODS = {
    "create",
    "bulk_create",
    "update",
    "bulk_update",
    "get_or_create",
    "update_or_create",
    "delete",
    "save",
    "raw",
}
SQL_HELPERS = {
    "insert_sql",
    "update_sql",
    "upsert_add_sql",
    "default_columns",
    "insert_select",
    "insert_select_sql",
}
SQL_WRITE = re.compile(
    r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?|COPY)\s+(?:ONLY\s+)?"
    r"\"?(?P<table>[A-Za-z_][\w]*)\"?",
    re.IGNORECASE,
)
TABLE_PLACEHOLDER = "__ledger_table__"


def _mentions(node, names):
    """Whether `node` mentions one of `names` (a model) as a name or an attribute."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in names:
            return True
        if isinstance(sub, ast.Attribute) and sub.attr in names:
            return True
    return False


def _built_from(node, names):
    """Whether `node` is made from a ledger model: `M.objects.filter(...)`, `M(...)`, or a list
    or comprehension of such things."""
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return any(_built_from(element, names) for element in node.elts)
    if isinstance(node, ast.ListComp | ast.GeneratorExp | ast.SetComp):
        return _built_from(node.elt, names) or any(
            _built_from(generator.iter, names) for generator in node.generators
        )
    return _root_name(node) in names


def _root_name(node):
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _sql_text(node, models):
    """The text of a string-like expression, with interpolations that name a ledger model's
    table replaced by a placeholder (None when `node` is not string-like)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            else:
                parts.append(TABLE_PLACEHOLDER if _mentions(value, models) else "{x}")
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _sql_text(node.left, models), _sql_text(node.right, models)
        if left is None and right is None:
            return None
        left = left if left is not None else _placeholder(node.left, models)
        right = right if right is not None else _placeholder(node.right, models)
        return left + right
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        left = _sql_text(node.left, models)
        if left is not None and _mentions(node.right, models):
            return re.sub(r"%\(?\w*\)?s", TABLE_PLACEHOLDER, left)
        return left
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    ):
        text = _sql_text(node.func.value, models)
        if text is not None and any(_mentions(arg, models) for arg in node.args + node.keywords):
            return re.sub(r"\{\w*\}", TABLE_PLACEHOLDER, text)
        return text
    return None


def _placeholder(node, models):
    return TABLE_PLACEHOLDER if _mentions(node, models) else "{x}"


class _Scanner(ast.NodeVisitor):
    def __init__(self, models, tables):
        self.models, self.tables = set(models), {t.lower() for t in tables}
        self.tainted = set()  # names bound to something built from a ledger model
        self.found = []

    def _flag(self, node, why):
        self.found.append((node.lineno, why))

    def _taint(self, target, value):
        # Only plain names: `x = M.objects...`, `a, b = ...`; not `obj.attr = ...`.
        if value is None or not _built_from(value, self.models | self.tainted):
            return
        for sub in [target] if isinstance(target, ast.Name) else getattr(target, "elts", []):
            if isinstance(sub, ast.Name):
                self.tainted.add(sub.id)

    def visit_Assign(self, node):
        for target in node.targets:
            self._taint(target, node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self._taint(node.target, node.value)
        self.generic_visit(node)

    def visit_For(self, node):
        self._taint(node.target, node.iter)
        self.generic_visit(node)

    def visit_With(self, node):
        for item in node.items:
            if item.optional_vars is not None:
                self._taint(item.optional_vars, item.context_expr)
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in WRITE_METHODS
            and _root_name(func.value) in self.models | self.tainted
        ):
            self._flag(node, f".{func.attr}() on a ledger model")
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name in self.models:
            self._flag(node, f"builds a {name} row")
        if name in SQL_HELPERS and any(_mentions(arg, self.models) for arg in node.args):
            self._flag(node, f"{name}() of a ledger model")
        self.generic_visit(node)

    def _check_sql(self, node):
        text = _sql_text(node, self.models)
        if not text:
            return False
        for match in SQL_WRITE.finditer(text):
            table = match.group("table").lower()
            if table == TABLE_PLACEHOLDER or table in self.tables:
                self._flag(node, f"SQL writes {match.group(0).strip()}")
                return True
        return False

    def visit_JoinedStr(self, node):
        self._check_sql(node)  # no generic_visit: its parts are not strings of their own

    def visit_BinOp(self, node):
        if not self._check_sql(node):
            self.generic_visit(node)

    def visit_Constant(self, node):
        self._check_sql(node)


def scan(source, *, models, tables, filename="<source>"):
    """[(line, why)] of the ledger writes in `source` (Python code)."""
    scanner = _Scanner(models, tables)
    scanner.visit(ast.parse(source, filename=filename))
    return sorted(set(scanner.found))
