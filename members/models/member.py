import functools

from django.conf import settings
from django.db import connection, models
from django.db.models import Q
from django.db.models.functions import ExtractMonth, Right
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from pypinyin import Style, lazy_pinyin
from simple_history.models import HistoricalRecords

from core.models import HistorySource
from members.validators import validate_birthday

# The PostgreSQL sequence behind member numbers (created by migration 0002): concurrent card
# openings never queue on one counter row.
MEMBER_NO_SEQUENCE = "members_member_no_seq"
MEMBER_NO_PREFIX = "M"
MEMBER_NO_DIGITS = 9


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=30, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Member(models.Model):
    """A member of the chain. Balances are not here: see PointsAccount and Wallet."""

    class Gender(models.TextChoices):
        MALE = "M", _("Male")
        FEMALE = "F", _("Female")
        UNKNOWN = "U", _("Unknown")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        FROZEN = "frozen", _("Frozen")
        CLOSED = "closed", _("Closed")

    class Source(models.TextChoices):
        ADMIN = "admin", _("Admin")
        TILL = "till", _("Till")
        IMPORT = "import", _("Import")
        BATCH = "batch", _("Card batch")

    member_no = models.CharField(_("member no"), max_length=20, unique=True)
    phone = models.CharField(_("mobile phone"), max_length=11, unique=True)
    # Tills and staff ask for "the member whose phone ends in 5678": an indexed stored column.
    phone_last4 = models.GeneratedField(
        expression=Right("phone", 4),
        output_field=models.CharField(max_length=4),
        db_persist=True,
        verbose_name=_("phone last 4 digits"),
    )
    name = models.CharField(_("full name"), max_length=50, blank=True)
    # Pinyin initials of the name (张三 -> "zs"), set by the services, for prefix search.
    name_initials = models.CharField(_("name initials"), max_length=50, blank=True)
    gender = models.CharField(
        _("gender"), max_length=1, choices=Gender.choices, default=Gender.UNKNOWN
    )
    birthday = models.DateField(
        _("birthday"), null=True, blank=True, validators=[validate_birthday]
    )
    email = models.EmailField(_("email"), blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    home_store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("home store"),
        on_delete=models.PROTECT,
        related_name="members",
    )
    tier = models.ForeignKey(
        "members.Tier",
        verbose_name=_("tier"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    referrer = models.ForeignKey(
        "self",
        verbose_name=_("referrer"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referred_members",
    )
    commission_staff = models.ForeignKey(
        "stores.Staff",
        verbose_name=_("commission staff"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    source = models.CharField(
        _("opened through"), max_length=10, choices=Source.choices, default=Source.ADMIN
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    last_visit_at = models.DateTimeField(_("last visit"), null=True, blank=True)

    # Who changed it, where and why (django-simple-history; shown on its admin page).
    history = HistoricalRecords(
        bases=[HistorySource], excluded_fields=["last_visit_at", "name_initials"]
    )

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        permissions = [("view_full_phone", _("Can see full phone numbers"))]
        indexes = [
            models.Index(fields=["home_store", "opened_at"]),
            models.Index(fields=["last_visit_at"]),
            models.Index(fields=["phone_last4"], name="member_phone_last4"),
            # Prefix search (name, pinyin initials) is LIKE 'x%': a plain b-tree serves it only
            # under the C collation, these under any (the phone's unique index has its own).
            models.Index(
                fields=["name_initials"],
                name="member_initials_prefix",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(
                fields=["name"], name="member_name_prefix", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["opened_at"], name="member_opened_at"),
            # The member list's birthday-month and status filters: an index each, so their
            # counts and row estimates need no scan of the million members.
            models.Index(ExtractMonth("birthday"), name="member_birthday_month"),
            models.Index(
                fields=["status"], name="member_not_active", condition=~Q(status="active")
            ),
        ]

    def __str__(self):
        return f"{self.member_no} {self.name}".strip()

    @property
    def masked_phone(self):
        return mask_phone(self.phone)


def mask_phone(phone):
    """138****5678: what staff without the "view full phone" permission see."""
    if not phone or len(phone) < 7:
        return phone
    return f"{phone[:3]}****{phone[-4:]}"


@functools.lru_cache(maxsize=65536)  # names repeat a lot in a chain; pinyin lookup is slow
def name_initials(name):
    """Lower-case pinyin initials of a Chinese name (张三丰 -> "zsf"); other letters kept."""
    if not name:
        return ""
    parts = lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default")
    return "".join(p for p in parts if p.strip()).lower().replace(" ", "")[:50]


def format_member_no(number):
    return f"{MEMBER_NO_PREFIX}{number:0{MEMBER_NO_DIGITS}d}"


def member_no_sql():
    """SQL expression giving a fresh member number per row, for set-based inserts."""
    return (
        f"'{MEMBER_NO_PREFIX}' || lpad(nextval('{MEMBER_NO_SEQUENCE}')::text, "
        f"{MEMBER_NO_DIGITS}, '0')"
    )


def allocate_member_nos(count):
    """`count` new, never-used member numbers (M000000001, ...). Gaps are allowed."""
    if count <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT nextval('{MEMBER_NO_SEQUENCE}') FROM generate_series(1, %s)", [count]
        )
        return [format_member_no(n) for (n,) in cursor.fetchall()]
