from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class CountCardNotFound(DomainError):
    code = "count_card_not_found"
    status = 404
    default_message = _("This member has no such count card.")


class CountCardNotUsable(DomainError):
    code = "count_card_not_usable"
    status = 422
    default_message = _("This count card has no visits left or has expired.")

    @classmethod
    def too_few_visits(cls, *, left, wanted):
        return cls(
            fields={
                "visits": [
                    gettext("The card has %(left)d visits left; %(wanted)d were asked for.")
                    % {"left": left, "wanted": wanted}
                ]
            }
        )


class InvalidCountCardOperation(DomainError):
    code = "invalid"
    status = 400
    default_message = _("The count-card operation is not valid.")


class DuplicateVisit(DomainError):
    code = "duplicate_visit"
    status = 409
    default_message = _("This visit number was already used with another visit.")
