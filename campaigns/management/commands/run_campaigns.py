from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from campaigns.services import run_daily_campaigns
from core.models import Source


class Command(BaseCommand):
    """Run today's day of every running daily campaign (what the morning job does). Idempotent:
    a second run the same day enters only newcomers and issues nothing twice."""

    help = "Run today's daily campaigns (birthdays, win-back)."

    def handle(self, *args, **options):
        for run in run_daily_campaigns(source=Source.COMMAND):
            self.stdout.write(
                _("%(campaign)s: %(entered)d entered, %(given)d offers given")
                % {
                    "campaign": run.campaign.code,
                    "entered": run.entered,
                    "given": run.offers_issued,
                }
            )
