from django.utils.translation import gettext_lazy as _

from config.errors import DomainError


class InsufficientStoredValue(DomainError):
    code = "insufficient_stored_value"
    default_message = _("Not enough stored value.")
