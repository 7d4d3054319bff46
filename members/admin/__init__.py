"""Members admin, one module per area. The wallet area adds members/admin_wallet.py."""

from . import cards, imports, members  # noqa: F401  (registers the admin classes)

try:  # the wallet area's admin lives next to this package
    from .. import admin_wallet  # noqa: F401
except ImportError as exc:  # pragma: no cover - until that module exists
    if "admin_wallet" not in str(exc):
        raise
