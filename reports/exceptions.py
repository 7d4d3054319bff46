"""Domain errors of the reports app, each with a stable code."""

from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class PeriodNotOver(DomainError):
    code = "period_not_over"
    status = 422
    default_message = _("A month can be closed only after it has ended.")


class PeriodClosed(DomainError):
    code = "period_closed"
    status = 409
    default_message = _("This settlement period is closed and never changes.")


class PeriodBusy(DomainError):
    code = "period_busy"
    status = 409
    default_message = _(
        "Entries of the month are still being written (a long import or job): close it again "
        "in a minute."
    )
