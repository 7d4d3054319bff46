from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class InsufficientPoints(DomainError):
    code = "insufficient_points"
    default_message = _("Not enough points.")

    @classmethod
    def of(cls, *, balance, wanted, field="points"):
        """The error with a sentence a cashier can read out: what the member has, what the
        operation needs."""
        return cls(
            gettext("Not enough points."),
            fields={
                field: [
                    gettext("The member has %(balance)d points; %(wanted)d are needed.")
                    % {"balance": balance, "wanted": wanted}
                ]
            },
        )


class PointsOutOfRange(DomainError):
    code = "invalid"
    status = 400
    default_message = _("That many points cannot be held on one account.")

    @classmethod
    def beyond(cls, limit):
        return cls(
            fields={
                "points": [
                    gettext("A points balance cannot go beyond %(limit)s.")
                    % {"limit": f"{limit:,}"}
                ]
            }
        )


class RedemptionNotAllowed(DomainError):
    code = "redemption_not_allowed"
    default_message = _("These points cannot be redeemed on this sale.")


class InvalidRedemption(DomainError):
    code = "invalid"
    status = 400
    default_message = _("The gift redemption is not valid.")


class OutOfStock(DomainError):
    code = "out_of_stock"
    default_message = _("This gift is out of stock in this store.")


class GiftNotFound(DomainError):
    code = "gift_not_found"
    status = 404
    default_message = _("No such gift.")


class InvalidAdjustment(DomainError):
    code = "invalid"
    status = 400
    default_message = _("The adjustment is not valid.")


class ApprovalNotAllowed(DomainError):
    code = "approval_not_allowed"
    status = 403
    default_message = _("You cannot approve this adjustment.")


class ExpiryAlreadyRunning(DomainError):
    code = "expiry_running"
    status = 409
    default_message = _("Another points expiry run is in progress.")


class InvalidRule(DomainError):
    code = "invalid"
    status = 400
    default_message = _("The rule is not valid.")
