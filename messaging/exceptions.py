from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class InvalidMessage(DomainError):
    code = "invalid"
    status = 400
    default_message = _("The message is not valid.")


class InvalidUnsubscribeList(DomainError):
    code = "invalid"
    status = 400
    default_message = _("The file could not be read: upload the provider's list as .xlsx or .csv.")
