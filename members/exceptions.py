from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class MemberExists(DomainError):
    code = "member_exists"
    status = 409
    default_message = _("This phone number is already a member.")


class InvalidMember(DomainError):
    code = "invalid"
    status = 400
    default_message = _("The member's details are not valid.")


class CardNotAvailable(DomainError):
    code = "invalid"
    status = 400
    default_message = _("This card cannot be used: it is unknown, already issued, lost or void.")


class MemberNotFound(DomainError):
    code = "member_not_found"
    status = 404
    default_message = _("No such member.")


class MemberInactive(DomainError):
    code = "member_inactive"
    status = 403
    default_message = _("This member is frozen or closed.")


class InvalidCardBatch(DomainError):
    code = "invalid"
    status = 400
    default_message = _("The card batch is not valid.")


class ConsentWithdrawn(DomainError):
    code = "consent_withdrawn"
    status = 409
    default_message = _(
        "The member unsubscribed: only the member can opt in again (at the till, in the member "
        "centre, or by asking head office)."
    )
