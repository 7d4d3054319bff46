from django.utils.translation import gettext_lazy as _

from config.errors import DomainError


class InsufficientPoints(DomainError):
    code = "insufficient_points"
    default_message = _("Not enough points.")
