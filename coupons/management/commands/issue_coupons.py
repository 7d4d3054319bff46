import uuid

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.models import Source
from coupons.models import CouponTemplate
from coupons.services import issue_coupons
from members.importing.normalize import RowError, normalize_phone
from members.models import Member


class Command(BaseCommand):
    """Issue coupons of a template to one member, through the same service as the admin.

    Prints each new coupon code on its own line (and nothing else on stdout). Fewer than asked
    when the member's limit or the template's total is reached: what was refused goes to
    stderr, and the command fails if none was issued.
    """

    help = "Issue coupons of a template to a member; prints each new code on its own line."

    def add_arguments(self, parser):
        parser.add_argument("--template", required=True, help="template code, e.g. CASH10")
        parser.add_argument("--member-phone", required=True, help="the member's mobile phone")
        parser.add_argument("--count", type=int, default=1, help="how many coupons (default 1)")

    def handle(self, *args, template, member_phone, count, **options):
        if not 1 <= count <= 1000:
            raise CommandError(_("--count must be between 1 and 1,000."))
        found = CouponTemplate.objects.filter(code=template.strip()).first()
        if found is None:
            raise CommandError(_("No coupon template %(code)s.") % {"code": template})
        try:
            phone = normalize_phone(member_phone)
        except RowError as exc:
            raise CommandError(str(exc.message)) from exc
        member = Member.objects.filter(phone=phone).first()
        if member is None:
            raise CommandError(_("No member with phone %(phone)s.") % {"phone": member_phone})
        run = uuid.uuid4().hex
        codes = []
        for n in range(count):
            try:
                result = issue_coupons(
                    template=found,
                    members=[member.pk],
                    occasion=f"command:{run}:{n}",
                    source=Source.COMMAND,
                    keep_codes=True,
                )
            except DomainError as exc:
                raise CommandError(str(exc.message)) from exc
            codes.extend(result.codes)
            if not result.codes:
                break  # the limit or the total is reached: the rest would be refused too
        for code in codes:
            self.stdout.write(code)
        if len(codes) < count:
            self.stderr.write(
                _(
                    "%(issued)d of %(asked)d issued: the member's limit or the template's total "
                    "is reached."
                )
                % {"issued": len(codes), "asked": count}  # fmt: skip
            )
        if not codes:
            raise CommandError(_("No coupon was issued."))
