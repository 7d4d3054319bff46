from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class CouponNotUsable(DomainError):
    """One or more coupons of a sale cannot be used on it; `fields.coupon_codes` says which and
    why ("<code>: <reason code>")."""

    code = "coupon_not_usable"
    default_message = _("A coupon cannot be used on this sale.")


class CouponNotAvailable(DomainError):
    code = "coupon_not_available"
    default_message = _("This coupon is not available.")


class DuplicateExchange(DomainError):
    code = "duplicate_exchange"
    status = 409
    default_message = _("This exchange number was already used with another exchange.")


class InvalidCouponTemplate(DomainError):
    code = "invalid"
    status = 400
    default_message = _("The coupon is not valid.")
