from django.utils.translation import gettext_lazy as _

from core.errors import DomainError

from .segments import InvalidSegment
from .statistics import StatsRefreshRunning


class InvalidCampaign(DomainError):
    code = "invalid_campaign"
    status = 400
    default_message = _("The campaign is not valid.")


class CampaignNotLaunchable(DomainError):
    code = "campaign_not_launchable"
    status = 409
    default_message = _("This campaign cannot be launched now.")


class CampaignNotRunning(DomainError):
    code = "campaign_not_running"
    status = 409
    default_message = _("This campaign is not running.")


class NotMeasurable(DomainError):
    code = "not_measurable"
    status = 409
    default_message = _("This campaign has not been launched: there is nothing to measure yet.")


__all__ = [
    "CampaignNotLaunchable",
    "CampaignNotRunning",
    "InvalidCampaign",
    "InvalidSegment",
    "NotMeasurable",
    "StatsRefreshRunning",
]
