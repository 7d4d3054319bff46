from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from core.models import Source
from members.importing.members import import_members, write_error_report
from members.importing.normalize import ImportDataError


class Command(BaseCommand):
    """Import members from an .xlsx or .csv file, the same path as the admin's import.

    Invalid rows are rejected whole and listed (with their Excel row numbers) in the --report
    workbook; phones that are already members are left alone unless --update-existing (which
    changes profile fields, never balances). Running the same file twice imports nothing twice.
    New members get no registration bonus (they were members of the old system) unless
    --registration-bonus. The file is read and written in chunks: memory stays flat.
    """

    help = "Import members from an Excel (.xlsx) or CSV file."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="check only, save nothing")
        parser.add_argument("--report", help="write rejected rows to this .xlsx file")
        parser.add_argument(
            "--update-existing",
            action="store_true",
            help="update the profile (never the balances) of phones that are already members",
        )
        parser.add_argument(
            "--registration-bonus",
            action="store_true",
            help="grant each new member the registration bonus in force today (off by default: "
            "migrated members were already members)",
        )

    def handle(self, *args, file, dry_run, report, update_existing, registration_bonus, **options):
        try:
            result = import_members(
                file,
                source_kind=Source.COMMAND,
                dry_run=dry_run,
                update_existing=update_existing,
                registration_bonus=registration_bonus,
            )
        except (ImportDataError, OSError) as exc:
            raise CommandError(str(getattr(exc, "message", exc))) from exc
        if report:
            write_error_report(result, report)
            self.stdout.write(_("Error report: %(path)s") % {"path": report})
        self.stdout.write(result.summary())
