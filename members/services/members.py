"""Member services: opening cards, finding members, profile and status changes, card batches.

Balances are never touched here directly: opening points go through
`loyalty.services.grant_opening_points`, opening stored value through
`members.ledger.post_wallet_entry`.
"""

from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.models import Tier
from loyalty.services import grant_opening_points
from members.exceptions import (
    CardNotAvailable,
    InvalidCardBatch,
    InvalidMember,
    MemberExists,
    MemberInactive,
    MemberNotFound,
)
from members.importing.normalize import RowError, normalize_phone
from members.ledger import CENT, open_wallet, post_wallet_entry
from members.models import Card, CardBatch, Member, Tag, WalletEntry
from members.models.cards import CARD_NO_LENGTH, make_card_no
from members.models.member import allocate_member_nos, name_initials
from stores.models import Source

# How a service `source` maps to the member's "opened through".
MEMBER_SOURCE = {
    Source.ADMIN: Member.Source.ADMIN,
    Source.TILL: Member.Source.TILL,
    Source.IMPORT: Member.Source.IMPORT,
    Source.COMMAND: Member.Source.IMPORT,
    Source.TASK: Member.Source.IMPORT,
}
PROFILE_FIELDS = ("name", "gender", "birthday", "email", "address", "notes")


def clean_phone(phone, field="phone"):
    try:
        return normalize_phone(phone)
    except RowError as exc:
        raise InvalidMember(fields={field: [str(exc.message)]}) from None


def default_tier():
    return Tier.objects.filter(is_default=True).first()


@transaction.atomic
def open_member(
    *,
    phone,
    home_store,
    source,
    actor=None,
    terminal=None,
    name="",
    gender="U",
    birthday=None,
    email="",
    address="",
    tier=None,
    initial_points=0,
    initial_stored_value=Decimal("0.00"),
    commission_staff=None,
    referrer_phone="",
    card_no="",
    notes="",
    tags=(),
    initial_points_expire_at=None,
    reference="",
) -> Member:
    """Open a member card (开卡) in one transaction.

    Rules: the phone is a valid mainland mobile number and not yet a member (MemberExists);
    a card, if given, is an unissued card from a batch and becomes active (CardNotAvailable);
    the referrer, if given, is a member; initial points and stored value are not negative and
    become ledger entries (OPENING) with the operator recorded. The points account and the
    wallet are always opened. The tier is the given one, else the card batch's, else the
    default tier.
    """
    phone = clean_phone(phone)
    errors = {}
    if gender not in Member.Gender.values:
        errors["gender"] = [_("Gender must be M, F or U.")]
    if not isinstance(initial_points, int) or isinstance(initial_points, bool):
        errors["initial_points"] = [_("Points must be a whole number.")]
    elif initial_points < 0:
        errors["initial_points"] = [_("Points cannot be negative.")]
    try:
        initial_stored_value = Decimal(initial_stored_value or 0).quantize(CENT)
        if initial_stored_value < 0:
            errors["initial_stored_value"] = [_("Stored value cannot be negative.")]
    except (InvalidOperation, TypeError, ValueError):
        errors["initial_stored_value"] = [_("Stored value must be an amount.")]
    if home_store is None:
        errors["home_store"] = [_("A home store is required.")]
    referrer = None
    if referrer_phone:
        try:
            referrer = Member.objects.get(phone=clean_phone(referrer_phone, "referrer_phone"))
        except Member.DoesNotExist:
            errors["referrer_phone"] = [_("The referrer is not a member.")]
    if errors:
        raise InvalidMember(fields=errors)

    card = None
    if card_no:
        # Locked so two tills cannot hand the same pre-printed card to two members.
        card = (
            Card.objects.select_for_update(of=("self",))
            .select_related("batch", "batch__initial_tier")
            .filter(card_no=str(card_no).strip())
            .first()
        )
        if card is None or card.status != Card.Status.UNISSUED:
            raise CardNotAvailable(fields={"card_no": [_("This card cannot be used.")]})
        if card.batch is not None:
            tier = tier or card.batch.initial_tier
            initial_points = initial_points or card.batch.initial_points
            initial_stored_value = initial_stored_value or card.batch.initial_stored_value
    tier = tier or default_tier()

    if Member.objects.filter(phone=phone).exists():
        raise MemberExists(fields={"phone": [_("This phone number is already a member.")]})
    member = Member(
        member_no=allocate_member_nos(1)[0],
        phone=phone,
        name=(name or "").strip(),
        name_initials=name_initials(name),
        gender=gender,
        birthday=birthday,
        email=email or "",
        address=address or "",
        home_store=home_store,
        tier=tier,
        referrer=referrer,
        commission_staff=commission_staff,
        source=Member.Source.BATCH
        if card is not None and card.batch_id and source == Source.ADMIN
        else MEMBER_SOURCE.get(source, Member.Source.ADMIN),
        notes=notes or "",
        opened_by=actor,
    )
    try:
        # A savepoint: a concurrent opening of the same phone loses here, not at commit.
        with transaction.atomic():
            member.save(force_insert=True)
    except IntegrityError:
        raise MemberExists(
            fields={"phone": [_("This phone number is already a member.")]}
        ) from None
    if tags:
        member.tags.set(tags)

    reference = reference or _("card opening")
    grant_opening_points(
        member=member,
        points=initial_points,
        source=source,
        actor=actor,
        store=home_store,
        expires_at=initial_points_expire_at,
        reference=reference,
        key=f"opening:points:{member.pk}",
    )
    open_wallet(member)
    if initial_stored_value:
        post_wallet_entry(
            member=member,
            kind=WalletEntry.Kind.OPENING,
            principal=initial_stored_value,
            bonus=Decimal("0.00"),
            source=source,
            actor=actor,
            store=home_store,
            terminal=terminal,
            reason=_("Opening balance"),
            reference=reference,
            key=f"opening:wallet:{member.pk}",
        )
    if card is not None:
        now = timezone.now()
        card.status, card.member = Card.Status.ACTIVE, member
        card.activated_at = card.status_changed_at = now
        card.save(update_fields=["status", "member", "activated_at", "status_changed_at"])
    # The account and wallet cached on `member` while opening them hold the pre-entry balances.
    for name in ("points_account", "wallet"):
        member._state.fields_cache.pop(name, None)
    return member


def find_member(*, phone="", card_no="", member_no="") -> Member:
    """The member with this phone, active card or member number (MemberNotFound otherwise)."""
    members = Member.objects.select_related("tier", "home_store")
    member = None
    if phone:
        try:
            member = members.filter(phone=normalize_phone(phone)).first()
        except RowError:
            member = None
    elif card_no:
        member = members.filter(
            cards__card_no=str(card_no).strip(), cards__status=Card.Status.ACTIVE
        ).first()
    elif member_no:
        member = members.filter(member_no=str(member_no).strip()).first()
    if member is None:
        raise MemberNotFound()
    return member


def ensure_member_active(member) -> Member:
    """Frozen and closed members cannot earn, spend or pay (MemberInactive)."""
    if member.status != Member.Status.ACTIVE:
        raise MemberInactive()
    return member


@transaction.atomic
def update_member_profile(*, member, source, actor=None, **changes) -> Member:
    """Change profile fields only (name, gender, birthday, email, address, notes, tier, home
    store, commission staff). Balances are never fields of a member, so they cannot be
    overwritten here."""
    allowed = set(PROFILE_FIELDS) | {"tier", "home_store", "commission_staff"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidMember(fields={name: [_("Cannot be changed here.")] for name in unknown})
    if "gender" in changes and changes["gender"] not in Member.Gender.values:
        raise InvalidMember(fields={"gender": [_("Gender must be M, F or U.")]})
    for field, value in changes.items():
        setattr(member, field, value if value is not None or field == "birthday" else "")
    fields = list(changes)
    if "name" in changes:
        member.name_initials = name_initials(member.name)
        fields.append("name_initials")
    if fields:
        member.save(update_fields=fields)
    return member


@transaction.atomic
def set_members_status(*, members, status, source, actor=None) -> int:
    """Freeze, unfreeze or close members (a queryset). Returns how many changed."""
    if status not in Member.Status.values:
        raise InvalidMember(fields={"status": [_("Unknown status.")]})
    return members.exclude(status=status).update(status=status)


@transaction.atomic
def change_members_tier(*, members, tier, source, actor=None) -> int:
    """Put members (a queryset) in `tier` by hand. Returns how many changed."""
    return members.exclude(tier=tier).update(tier=tier)


@transaction.atomic
def tag_members(*, members, tag, source, actor=None) -> int:
    """Add `tag` (a Tag or a name) to members (a queryset); members who have it are skipped."""
    if isinstance(tag, str):
        name = tag.strip()
        if not name:
            raise InvalidMember(fields={"tag": [_("A tag name is required.")]})
        tag, _created = Tag.objects.get_or_create(name=name[:30])
    through = Member.tags.through
    have = set(through.objects.filter(tag=tag).values_list("member_id", flat=True))
    rows = [
        through(member_id=pk, tag_id=tag.pk)
        for pk in members.values_list("pk", flat=True)
        if pk not in have
    ]
    through.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


# --------------------------------------------------------------------------- cards


@transaction.atomic
def generate_card_batch(
    *,
    prefix,
    count,
    source,
    actor=None,
    initial_tier=None,
    initial_points=0,
    initial_stored_value=Decimal("0.00"),
    notes="",
) -> CardBatch:
    """Create a batch of `count` unissued cards numbered prefix + serial + Luhn digit.

    Serials continue after the last batch with the same prefix; the unique card number is the
    backstop if two batches with one prefix are generated at the same moment.
    """
    prefix = str(prefix or "").strip()
    errors = {}
    if not prefix.isdigit() or not 1 <= len(prefix) <= 8:
        errors["prefix"] = [_("The prefix is 1 to 8 digits.")]
    if not isinstance(count, int) or not 1 <= count <= 100_000:
        errors["count"] = [_("Between 1 and 100,000 cards per batch.")]
    if initial_points < 0 or Decimal(initial_stored_value) < 0:
        errors["initial_points"] = [_("Initial values cannot be negative.")]
    if errors:
        raise InvalidCardBatch(fields=errors)
    # Lock earlier batches with this prefix: two batches started together get different serials.
    list(CardBatch.objects.select_for_update().filter(prefix=prefix).values_list("pk"))
    last = (
        CardBatch.objects.filter(prefix=prefix).aggregate(
            end=Max(F("first_serial") + F("count") - 1)
        )["end"]
        or 0
    )
    width = CARD_NO_LENGTH - 1 - len(prefix)
    if last + count >= 10**width:
        raise InvalidCardBatch(fields={"count": [_("No card numbers left for this prefix.")]})
    batch = CardBatch.objects.create(
        prefix=prefix,
        count=count,
        first_serial=last + 1,
        initial_tier=initial_tier,
        initial_points=initial_points,
        initial_stored_value=initial_stored_value,
        notes=notes,
        created_by=actor,
    )
    Card.objects.bulk_create(
        (Card(card_no=make_card_no(prefix, last + 1 + i), batch=batch) for i in range(count)),
        batch_size=5000,
    )
    return batch


@transaction.atomic
def report_card_lost_and_replace(*, card, new_card_no, source, actor=None) -> Card:
    """Mark an active card lost and give its member an unissued card instead.

    Balances belong to the member, not the card, so every balance (points, lots, stored value,
    count cards) stays exactly where it was.
    """
    old = Card.objects.select_for_update().get(pk=card.pk)
    if old.status != Card.Status.ACTIVE or old.member_id is None:
        raise CardNotAvailable(fields={"card_no": [_("Only an active card can be reported lost.")]})
    new = Card.objects.select_for_update().filter(card_no=str(new_card_no).strip()).first()
    if new is None or new.status != Card.Status.UNISSUED:
        raise CardNotAvailable(fields={"new_card_no": [_("This card cannot be used.")]})
    now = timezone.now()
    old.status, old.status_changed_at, old.replaced_by = Card.Status.LOST, now, new
    old.save(update_fields=["status", "status_changed_at", "replaced_by"])
    new.status, new.member_id = Card.Status.ACTIVE, old.member_id
    new.activated_at = new.status_changed_at = now
    new.save(update_fields=["status", "member", "activated_at", "status_changed_at"])
    return new
