from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class InsufficientStoredValue(DomainError):
    code = "insufficient_stored_value"
    default_message = _("Not enough stored value.")

    @classmethod
    def of(cls, *, balance, wanted, field="stored_value", principal_only=False):
        """The error with a sentence a cashier can read out: the balance and what was asked."""
        text = (
            gettext("The member has ¥%(balance)s of principal; ¥%(wanted)s was asked for.")
            if principal_only
            else gettext("The member has ¥%(balance)s of stored value; ¥%(wanted)s was asked for.")
        )
        return cls(
            gettext("Not enough stored value."),
            fields={field: [text % {"balance": balance, "wanted": wanted}]},
        )


# --- stored value and count cards (wallet) ---


class WalletOperationRefused(DomainError):
    """A stored-value or count-card operation the rules do not allow (bad amount, plan, state)."""

    code = "invalid"
    status = 400
    default_message = _("This stored-value operation is not allowed.")


class RechargePlanNotAvailable(DomainError):
    code = "recharge_plan_not_available"
    status = 422
    default_message = _("This recharge plan is not available here and now.")


class ReasonRequired(DomainError):
    code = "reason_required"
    status = 400
    default_message = _("A reason is required.")


class ApprovalNotAllowed(DomainError):
    code = "approval_not_allowed"
    status = 403
    default_message = _(
        "A withdrawal must be approved by another head-office user with approval permission."
    )


class WithdrawalNotPending(DomainError):
    code = "withdrawal_not_pending"
    status = 409
    default_message = _("This withdrawal request has already been decided.")


class DuplicateRecharge(DomainError):
    code = "duplicate_recharge"
    status = 409
    default_message = _("This recharge number was already used with another recharge.")


class AdjustmentApprovalNotAllowed(DomainError):
    code = "approval_not_allowed"
    status = 403
    default_message = _("You cannot approve this stored-value adjustment.")
