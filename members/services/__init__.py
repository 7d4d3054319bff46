"""Every write to members and their stored value. One module per area; import from here."""

from .wallet import pay_with_stored_value, refund_stored_value

__all__ = ["pay_with_stored_value", "refund_stored_value"]
