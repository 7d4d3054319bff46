"""Reads for reports from a replica: PostgreSQL streaming replication gives a read-only copy a
few hundred milliseconds behind; the heavy report queries belong there, away from the tills.

Off unless settings.DATABASES has a "replica" alias (DATABASE_REPLICA_URL). Then the code of a
report wraps its reads in `reading_for_reports()`, and every read inside goes to the replica;
writes, and every read outside such a block, stay on "default" (a till must read what it just
wrote, which a replica may not have yet).
"""

import contextlib
import contextvars

from django.conf import settings

REPLICA = "replica"
_for_reports = contextvars.ContextVar("reading_for_reports", default=False)


@contextlib.contextmanager
def reading_for_reports():
    """Within the block, reads go to the replica when there is one (else to default)."""
    token = _for_reports.set(True)
    try:
        yield reports_database()
    finally:
        _for_reports.reset(token)


def reports_database():
    """The alias report reads use: "replica" when configured, else "default"."""
    return REPLICA if REPLICA in settings.DATABASES else "default"


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if _for_reports.get():
            return reports_database()
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two doors

    def allow_migrate(self, db, app_label, **hints):
        return db == "default"  # the replica copies the primary; nothing migrates it
