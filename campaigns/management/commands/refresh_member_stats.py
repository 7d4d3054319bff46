from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from campaigns.statistics import CHUNK, StatsRefreshRunning, refresh_member_stats
from core.models import Source


class Command(BaseCommand):
    """Recompute every member's statistics (what the nightly job does): set-based, chunked by
    member id. Prints how many members and how long. Fails if another refresh is running."""

    help = "Refresh member statistics now (the nightly job)."

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=CHUNK)

    def handle(self, *args, chunk_size, **options):
        if chunk_size < 1:
            raise CommandError(_("--chunk-size must be at least 1."))
        try:
            run = refresh_member_stats(source=Source.COMMAND, chunk_size=chunk_size)
        except StatsRefreshRunning as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(
            _("%(members)d members in %(seconds).1f s.")
            % {"members": run.members, "seconds": run.seconds}
        )
