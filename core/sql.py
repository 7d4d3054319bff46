"""Helpers for the few SQL statements that bypass the ORM: set-based bulk writes (imports,
expiry) and the till API's per-request reads."""

import functools

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone


def default_columns(model, given):
    """(column, value) for the concrete fields of `model` not in `given`, at their Python
    defaults, so a hand-written INSERT stays valid when a field with a default is added."""
    pairs = []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.generated or field.column in given:
            continue
        value = timezone.now() if getattr(field, "auto_now", False) else field.get_default()
        pairs.append((field.column, field.get_db_prep_save(value, connection)))
    return pairs


# --- Hand-written reads on the till API's hot paths ------------------------------------------
# Compiling an ORM query costs about a millisecond of CPU on a wide model, several times what
# PostgreSQL spends answering it; the till API's per-request reads (the key, the member, the
# points account) are written once here instead and loaded into ordinary model instances.


@functools.cache
def _fields(model):
    return tuple(model._meta.concrete_fields)


@functools.cache
def select_list(model, alias):
    """`alias."col", ...` for every concrete field of `model`, in the order `load` expects."""
    return ", ".join(f'{alias}."{field.column}"' for field in _fields(model))


@functools.cache
def _attnames(model):
    return [field.attname for field in _fields(model)]


def lock_clause(of=None):
    """` FOR UPDATE [OF of]`: lock the rows read (only those of table alias `of`)."""
    return f" FOR UPDATE OF {of}" if of else " FOR UPDATE"


@functools.cache
def _converters(model):
    ops = connections[DEFAULT_DB_ALIAS].ops
    table = model._meta.db_table
    converters = []
    for field in _fields(model):
        col = field.get_col(table)
        found = ops.get_db_converters(col) + col.get_db_converters(connections[DEFAULT_DB_ALIAS])
        converters.append((col, tuple(found)))
    return tuple(converters)


def load(model, row, start=0):
    """The instance of `model` in `row[start:]` (columns as `select_list` gave them), or None
    when its primary key is NULL (an outer join that found nothing)."""
    fields = _fields(model)
    values = list(row[start : start + len(fields)])
    if values[0] is None:
        return None
    conn = connections[DEFAULT_DB_ALIAS]
    for i, (col, converters) in enumerate(_converters(model)):
        for converter in converters:
            values[i] = converter(values[i], col, conn)
    return model.from_db(DEFAULT_DB_ALIAS, _attnames(model), values)


def width(model):
    """How many columns `select_list(model, ...)` gives."""
    return len(_fields(model))


def insert_sql(model, objs, *, expressions=None, returning=""):
    """(sql, params): one INSERT of the unsaved `objs`, every concrete field as Django would
    save it (defaults, auto_now_add, JSON). `expressions` {attname: SQL} puts an expression in
    place of a field's value: one string for every row, or a list with one per row (an id a
    CTE returned, say)."""
    expressions = expressions or {}
    fields = [f for f in _fields(model) if not f.primary_key and not f.generated]
    rows, params = [], []
    for i, obj in enumerate(objs):
        cells = []
        for field in fields:
            expression = expressions.get(field.attname)
            if expression is None:
                cells.append("%s")
                params.append(field.get_db_prep_save(field.pre_save(obj, True), connection))
            else:
                cells.append(expression[i] if isinstance(expression, list) else expression)
        rows.append(f"({', '.join(cells)})")
    columns = ", ".join(f'"{field.column}"' for field in fields)
    sql = f'INSERT INTO "{model._meta.db_table}" ({columns}) VALUES {", ".join(rows)}'
    return (f"{sql} RETURNING {returning}" if returning else sql), params


def insert_select_sql(model, *, select_from, expressions=None, constants=None, from_params=()):
    """(sql, params): `INSERT INTO <model> (...) SELECT ... FROM <select_from>`, a row per row
    of `select_from`, with positional parameters (`insert_select` is the same with named
    ones). Each concrete field takes its SQL from `expressions` {attname: SQL over
    `select_from`}, else a bound value from `constants` {attname: value, prepared as Django
    saves it}, else its default (`default_columns`): a field added later keeps the statement
    valid. A set-based write of thousands of rows with a handful of parameters (arrays, say,
    in `from_params`)."""
    meta = model._meta
    expressions, constants = expressions or {}, constants or {}
    fields = {f.attname: f for f in _fields(model) if not f.primary_key and not f.generated}
    unknown = (set(expressions) | set(constants)) - set(fields)
    if unknown:
        raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
    columns, select, params = [], [], []
    for attname, expression in expressions.items():
        columns.append(fields[attname].column)
        select.append(expression)
    for attname, value in constants.items():
        columns.append(fields[attname].column)
        select.append("%s")
        params.append(fields[attname].get_db_prep_save(value, connection))
    for column_name, value in default_columns(model, set(columns)):
        columns.append(column_name)
        select.append("%s")
        params.append(value)
    names = ", ".join(f'"{name}"' for name in columns)
    sql = f'INSERT INTO "{meta.db_table}" ({names}) SELECT {", ".join(select)} FROM {select_from}'
    return sql, [*params, *from_params]


def update_sql(model, pk, changes):
    """(sql, params): UPDATE of `changes` ({field name: value}) on the row `pk` of `model`."""
    meta = model._meta
    fields = [meta.get_field(name) for name in changes]
    sets = ", ".join(f'"{field.column}" = %s' for field in fields)
    params = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(fields, changes.values(), strict=True)
    ]
    return f'UPDATE "{meta.db_table}" SET {sets} WHERE "{meta.pk.column}" = %s', [*params, pk]


def upsert_add_sql(model, key, add):
    """(sql, params): INSERT a row of `model` with `key` ({field: value}, the unique fields)
    and `add` ({field: amount}); when the row exists, add the amounts to it instead."""
    meta = model._meta
    table = meta.db_table
    fields = [meta.get_field(name) for name in (*key, *add)]
    columns = ", ".join(f'"{field.column}"' for field in fields)
    values = [*key.values(), *add.values()]
    params = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(fields, values, strict=True)
    ]
    conflict = ", ".join(f'"{meta.get_field(name).column}"' for name in key)
    sets = ", ".join(
        f'"{column}" = "{table}"."{column}" + EXCLUDED."{column}"'
        for column in (meta.get_field(name).column for name in add)
    )
    placeholders = ", ".join(["%s"] * len(fields))
    sql = (
        f'INSERT INTO "{table}" ({columns}) VALUES ({placeholders}) '
        f"ON CONFLICT ({conflict}) DO UPDATE SET {sets}"
    )
    return sql, params


class Statement:
    """One SQL statement assembled from the parts several apps contribute (`WITH a AS (...),
    b AS (...) SELECT ...`): checkout writes the sale, its points and the member's visit in one
    round trip, while each app's module writes the SQL for its own tables. A part may name an
    earlier part (`(SELECT id FROM points_entries ...)`)."""

    def __init__(self):
        self._parts, self._params, self._selects = [], [], []

    def add(self, name, sql, params=()):
        self._parts.append(f"{name} AS ({sql})")
        self._params.extend(params)

    def select(self, expression, receive):
        """After execute(), `receive(value)` gets what `expression` selected."""
        self._selects.append((expression, receive))

    def execute(self):
        selects = ", ".join(expression for expression, _ in self._selects) or "1"
        with connection.cursor() as cursor:
            cursor.execute(f"WITH {', '.join(self._parts)} SELECT {selects}", self._params)
            row = cursor.fetchone()
        for (_expression, receive), value in zip(self._selects, row, strict=False):
            receive(value)


def insert_select(model, given):
    """The parts of `INSERT INTO <table> (<columns>) SELECT <expressions> ...` for a set-based
    insert: `given` {field name: SQL expression (named %(x)s parameters allowed)}; every other
    concrete field of `model` gets its Python default as the named parameter
    `%(d_<table>_<column>)s`.
    Returns (table, columns, expressions, defaults): the quoted table, the column list, the
    expression list (both as SQL text, in the same order) and the parameters of the defaults.
    So a hand-written insert names no column by hand and stays valid when a field is added."""
    meta = model._meta
    columns, expressions = [], []
    for name, expression in given.items():
        columns.append(f'"{meta.get_field(name).column}"')
        expressions.append(expression)
    given_columns = {meta.get_field(name).column for name in given}
    defaults = {}
    for column, value in default_columns(model, given_columns):
        columns.append(f'"{column}"')
        expressions.append(f"%(d_{meta.db_table}_{column})s")
        defaults[f"d_{meta.db_table}_{column}"] = value
    return f'"{meta.db_table}"', ", ".join(columns), ", ".join(expressions), defaults


def column(model, name):
    """The quoted column of field `name` of `model`."""
    return f'"{model._meta.get_field(name).column}"'


def table(model):
    """The quoted table of `model`."""
    return f'"{model._meta.db_table}"'


def parallel_arrays(parts, names, order):
    """`array_agg(part ORDER BY order) AS name, ...`: a list of rows as one array per column,
    every array in the same order (for a LATERAL subquery that returns a short list)."""
    return ", ".join(
        f"array_agg({part} ORDER BY {order}) AS {name}"
        for part, name in zip(parts, names, strict=True)
    )


# --- A commit-safe id watermark ----------------------------------------------------------------


class WatermarkTimeout(Exception):
    """A transaction that may still write ids below the watermark did not end in time."""


def settled_watermark(model, *, timeout=30.0, poll=0.05):
    """The highest id of `model` below which no new row can appear: every id up to it has been
    handed out, and every transaction that took one has ended (committed, so the caller's next
    statement sees its rows under READ COMMITTED, or rolled back, so they never appear).

    The race it closes: ids come from the table's sequence when a row is inserted, not when it
    commits. `Max(id)` read while one transaction holds an uncommitted row, after another with
    a higher id has committed, is not a watermark: the first row commits later, below it, and
    whatever took rows "up to the mark" (a settlement month closing) never sees it, while what
    takes rows "above the mark" (the next month) skips it.

    How: read the sequence's last value first, then which transactions hold a lock on the
    sequence (`nextval` takes ROW EXCLUSIVE on it until the transaction ends, so any that took
    an id before the read still holds it) or on the table (an INSERT that names its ids), and
    wait until each of those has ended. A transaction that takes its first id after the read
    gets a higher one. Writers are never blocked: only the caller waits, polling pg_locks, for
    at most `timeout` seconds (then WatermarkTimeout). Assumes the sequence hands out ids one
    at a time (CACHE 1, as Django creates them): a per-session cache could hand out a lower id
    after the read."""
    import time

    name = table(model)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq::oid, COALESCE(pg_sequence_last_value(seq), 0), %s::regclass::oid "
            "FROM (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq) s",
            [name, name],
        )
        sequence, mark, relation = cursor.fetchone()
        holders_sql = (
            "SELECT array_agg(DISTINCT virtualtransaction) FROM pg_locks "
            "WHERE locktype = 'relation' AND granted AND relation IN (%s, %s) "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND mode = 'RowExclusiveLock' AND pid IS DISTINCT FROM pg_backend_pid()"
        )
        cursor.execute(holders_sql, [sequence, relation])
        holders = cursor.fetchone()[0] or []
        deadline = time.monotonic() + timeout
        while holders:
            cursor.execute(
                f"{holders_sql} AND virtualtransaction = ANY(%s)", [sequence, relation, holders]
            )
            holders = cursor.fetchone()[0] or []
            if not holders:
                break
            if time.monotonic() > deadline:
                raise WatermarkTimeout(name)
            time.sleep(poll)
    return mark
