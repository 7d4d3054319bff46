"""Validators shared by the member form, card opening (admin and till) and the services, so a
rule reads the same wherever a value is typed. The import applies the same rules in
members.importing.normalize (its messages carry the row's value)."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.importing.normalize import MIN_BIRTH_YEAR


def validate_birthday(value):
    """A birthday is a real past day: not in the future (local date), not before 1900."""
    if value is None:
        return
    if value > timezone.localdate():
        raise ValidationError(_("A birthday cannot be in the future."), code="birthday_in_future")
    if value < dt.date(MIN_BIRTH_YEAR, 1, 1):
        raise ValidationError(
            _("A birthday before %(year)d is not plausible."),
            code="birthday_too_old",
            params={"year": MIN_BIRTH_YEAR},
        )
