"""Member services: opening cards, finding members, profile, status and tier changes, card
batches.

Balances are never touched here: members sits below the ledgers, so opening points and
opening stored value are handed to the apps that own them through `members.hooks` (loyalty
and wallet connect their services there).
"""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from core.history import bulk_note, bulk_note_changed, note
from core.models import Source
from core.money import CENT
from core.sql import load, select_list, update_sql, width
from members import hooks
from members.exceptions import (
    CardNotAvailable,
    InvalidCardBatch,
    InvalidMember,
    MemberExists,
    MemberInactive,
    MemberNotFound,
)
from members.importing.normalize import RowError, normalize_phone
from members.models import Card, CardBatch, ConsentDoor, Member, Tag, Tier, TierChange
from members.models.cards import CARD_NO_LENGTH, make_card_no
from members.models.member import allocate_member_nos, member_no_sql, name_initials
from members.services.consent import record_consent
from members.validators import validate_birthday
from stores.models import Store

# How a service `source` maps to the member's "opened through".
MEMBER_SOURCE = {
    Source.ADMIN: Member.Source.ADMIN,
    Source.TILL: Member.Source.TILL,
    Source.IMPORT: Member.Source.IMPORT,
    Source.COMMAND: Member.Source.IMPORT,
    Source.TASK: Member.Source.IMPORT,
}
# Through which door a consent given while opening a card came in.
CONSENT_DOOR = {Source.TILL: ConsentDoor.TILL, Source.IMPORT: ConsentDoor.IMPORT,
                Source.ADMIN: ConsentDoor.ADMIN}  # fmt: skip
PROFILE_FIELDS = ("name", "gender", "birthday", "email", "address", "notes")


def clean_phone(phone, field="phone"):
    try:
        return normalize_phone(phone)
    except RowError as exc:
        raise InvalidMember(fields={field: [str(exc.message)]}) from None


def _birthday_errors(birthday):
    """{"birthday": [message]} for a birthday no one can have (future, before 1900), else {}."""
    try:
        validate_birthday(birthday)
    except ValidationError as exc:
        return {"birthday": list(exc.messages)}
    return {}


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
    opened_at=None,
    marketing_consent=None,
) -> Member:
    """Open a member card (开卡) in one transaction.

    Rules: the phone is a valid mainland mobile number and not yet a member (MemberExists);
    a card, if given, is an unissued card from a batch and becomes active (CardNotAvailable);
    the referrer, if given, is a member; initial points and stored value are not negative and
    become ledger entries (OPENING) with the operator recorded. The points account and the
    wallet are always opened. The tier is the given one, else the card batch's, else the
    default tier. `opened_at` (default now) dates the membership and its opening entries, for
    members brought in from before. `marketing_consent` {"sms": bool, "wechat": bool}: what
    the member agreed to as the card was opened, recorded (with the wording in force and the
    door the source names) in the same transaction.
    """
    phone = clean_phone(phone)
    errors = {}
    if gender not in Member.Gender.values:
        errors["gender"] = [_("Gender must be M, F or U.")]
    errors.update(_birthday_errors(birthday))
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
        referrer_phone = clean_phone(referrer_phone, "referrer_phone")
        if referrer_phone == phone:
            # The referral bonus pays both sides: naming yourself would pay both to one account.
            errors["referrer_phone"] = [_("A member cannot refer themselves.")]
        else:
            referrer = Member.objects.filter(phone=referrer_phone).first()
            if referrer is None:
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
        opened_at=opened_at or timezone.now(),
    )
    try:
        # A savepoint: a concurrent opening of the same phone loses here, not at commit.
        with transaction.atomic():
            note(member, actor=actor, source=source, reason=_("card opened"))
            member.save(force_insert=True)
    except IntegrityError:
        raise MemberExists(
            fields={"phone": [_("This phone number is already a member.")]}
        ) from None
    if tags:
        member.tags.set(tags)

    # Points account and wallet, with the opening balances (and the registration bonus in
    # force today): each opened by the app that owns it, in this transaction.
    hooks.member_opened.run(
        member=member,
        opening=hooks.Opening(
            points=initial_points,
            points_expire_at=initial_points_expire_at,
            stored_value=initial_stored_value,
            store=home_store,
            terminal=terminal,
            reference=reference or _("card opening"),
            at=opened_at,
        ),
        source=source,
        actor=actor,
    )
    for channel, agreed in (marketing_consent or {}).items():
        if agreed:
            record_consent(
                member=member, channel=channel, granted=True, door=CONSENT_DOOR.get(source,
                ConsentDoor.ADMIN), source=source, actor=actor, at=opened_at,
            )  # fmt: skip
    if card is not None:
        now = opened_at or timezone.now()
        card.status, card.member = Card.Status.ACTIVE, member
        card.activated_at = card.status_changed_at = now
        card.save(update_fields=["status", "member", "activated_at", "status_changed_at"])
    return member


def find_member(*, phone="", card_no="", member_no="") -> Member:
    """The member with this phone, active card or member number (MemberNotFound otherwise),
    with their tier and home store. Every till request that names a member runs this: one
    hand-written query (see config.sql)."""
    member_t = Member._meta.db_table
    if phone:
        try:
            value = normalize_phone(phone)
        except RowError:
            raise MemberNotFound() from None
        where, join, params = "m.phone = %s", "", [value]
    elif card_no:
        join = f'JOIN "{Card._meta.db_table}" c ON c.member_id = m.id AND c.status = %s '
        where, params = "c.card_no = %s", [Card.Status.ACTIVE, str(card_no).strip()]
    elif member_no:
        where, join, params = "m.member_no = %s", "", [str(member_no).strip()]
    else:
        raise MemberNotFound()
    sql = (
        f"SELECT {select_list(Member, 'm')}, {select_list(Tier, 't')}, "
        f"{select_list(Store, 's')} "
        f'FROM "{member_t}" m {join}'
        f'LEFT JOIN "{Tier._meta.db_table}" t ON t.id = m.tier_id '
        f'LEFT JOIN "{Store._meta.db_table}" s ON s.id = m.home_store_id '
        f"WHERE {where} LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        raise MemberNotFound()
    member = load(Member, row)
    Member.tier.field.set_cached_value(member, load(Tier, row, width(Member)))
    Member.home_store.field.set_cached_value(member, load(Store, row, width(Member) + width(Tier)))
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
    if "birthday" in changes and _birthday_errors(changes["birthday"]):
        raise InvalidMember(fields=_birthday_errors(changes["birthday"]))
    before = None
    if "tier" in changes:  # as stored, not as the form's instance already says
        before = Member.objects.select_related("tier").get(pk=member.pk).tier
    for field, value in changes.items():
        if value is None and field in PROFILE_FIELDS and field != "birthday":
            value = ""  # text fields are blank, never NULL
        setattr(member, field, value)
    fields = list(changes)
    if "name" in changes:
        member.name_initials = name_initials(member.name)
        fields.append("name_initials")
    if fields:
        note(member, actor=actor, source=source, reason=_("profile changed"))
        member.save(update_fields=fields)
    if "tier" in changes and before != member.tier and member.tier is not None:
        log_tier_change(
            member=member,
            from_tier=before,
            to_tier=member.tier,
            reason=TierChange.Reason.MANUAL,
            detail=_("changed on the member page"),
            source=source,
            actor=actor,
        )
    return member


CHUNK = 2000


def _in_chunks(members):
    """The members of a queryset, in id order, CHUNK at a time (a filter of 100k members never
    loads them all)."""
    last = 0
    while True:
        batch = list(members.filter(pk__gt=last).order_by("pk")[:CHUNK])
        if not batch:
            return
        yield batch
        last = batch[-1].pk


@transaction.atomic
def set_members_status(*, members, status, source, actor=None, reason="") -> int:
    """Freeze, unfreeze or close members (a queryset), each change in the members' history
    with who, where and why. Returns how many changed."""
    if status not in Member.Status.values:
        raise InvalidMember(fields={"status": [_("Unknown status.")]})
    why = reason or _("status: %(status)s") % {"status": Member.Status(status).label}
    changed = 0
    for batch in _in_chunks(members.exclude(status=status)):
        Member.objects.filter(pk__in=[m.pk for m in batch]).update(status=status)
        for member in batch:
            member.status = status
        bulk_note(Member, batch, actor=actor, source=source, reason=why)
        changed += len(batch)
    return changed


@transaction.atomic
def change_members_tier(*, members, tier, source, actor=None, reason="") -> int:
    """Put members (a queryset) in `tier` by hand: each change a TierChange (who, where, why)
    and a history record. Returns how many changed."""
    why = reason or _("changed by hand")
    changed = 0
    for batch in _in_chunks(members.exclude(tier=tier).select_related("tier")):
        Member.objects.filter(pk__in=[m.pk for m in batch]).update(tier=tier)
        now = timezone.now()
        TierChange.objects.bulk_create(
            TierChange(
                member=member,
                from_tier=member.tier,
                to_tier=tier,
                reason=TierChange.Reason.MANUAL,
                detail=why[:200],
                source=source,
                actor=actor,
                created_at=now,
            )
            for member in batch
        )
        for member in batch:
            member.tier = tier
        bulk_note(Member, batch, actor=actor, source=source, reason=why)
        changed += len(batch)
    return changed


def log_tier_change(
    *, member, from_tier, to_tier, reason, detail, source, actor, reference="", key=None, at=None
):
    """Record a change of a member's tier (the caller has just made it)."""
    return TierChange.objects.create(
        member=member,
        from_tier=from_tier,
        to_tier=to_tier,
        reason=reason,
        detail=detail[:200],
        reference=reference[:100],
        source=source,
        actor=actor,
        key=key,
        created_at=at or timezone.now(),
    )


@transaction.atomic
def move_member_tier(
    *, member, from_tier, to_tier, reason, detail, source, actor=None, reference="", key=None
):
    """Move a member from `from_tier` to `to_tier`, only if they are still in `from_tier` (a
    sale or head office may have moved them since it was read: a review must never undo an
    upgrade), and log the change. With `key`, a second call is a no-op. Returns the
    TierChange, or None when nothing moved."""
    if key and TierChange.objects.filter(key=key).exists():
        return None
    moved = Member.objects.filter(pk=member.pk, tier_id=getattr(from_tier, "pk", None)).update(
        tier=to_tier
    )
    if not moved:
        return None
    member.tier = to_tier
    return log_tier_change(
        member=member,
        from_tier=from_tier,
        to_tier=to_tier,
        reason=reason,
        detail=detail,
        source=source,
        actor=actor,
        reference=reference,
        key=key,
    )


def add_visit(statement, *, member_id, at, tier_move=None):
    """Add to a checkout statement (core.sql.Statement) the member's last visit and, with
    `tier_move` (from_tier_id, to_tier_id), the upgrade the sale earned: applied only if the
    member is still in `from_tier_id` when the statement runs (the row is locked and read in
    the statement itself, so a change head office committed meanwhile is seen and kept).
    Returns the SQL that selects whether the tier moved (None without `tier_move`); the caller
    logs the change (log_tier_change) when it did."""
    if tier_move is None:
        sql, params = update_sql(Member, member_id, {"last_visit_at": at})
        statement.add("member_visit", sql, params)
        return None
    from_id, to_id = tier_move
    table = f'"{Member._meta.db_table}"'
    tier = f'"{Member._meta.get_field("tier").column}"'
    visit = f'"{Member._meta.get_field("last_visit_at").column}"'
    pk = f'"{Member._meta.pk.column}"'
    statement.add(
        "member_before", f"SELECT {tier} AS tier_id FROM {table} WHERE {pk} = %s FOR UPDATE",
        [member_id],
    )  # fmt: skip
    statement.add(
        "member_visit",
        f"UPDATE {table} m SET {visit} = %s, {tier} = CASE WHEN b.tier_id IS NOT DISTINCT FROM "
        f"%s THEN %s ELSE m.{tier} END FROM member_before b WHERE m.{pk} = %s "
        "RETURNING (b.tier_id IS NOT DISTINCT FROM %s) AS moved",
        [Member._meta.get_field("last_visit_at").get_db_prep_save(at, connection)]
        + [from_id, to_id, member_id, from_id],
    )
    return "(SELECT moved FROM member_visit)"


@transaction.atomic
def change_tier(*, member, tier, reason, source, actor=None):
    """Set a member's tier by hand (head office), logged with the reason given."""
    before = member.tier
    if before == tier:
        return None
    Member.objects.filter(pk=member.pk).update(tier=tier)
    member.tier = tier
    return log_tier_change(
        member=member,
        from_tier=before,
        to_tier=tier,
        reason=TierChange.Reason.MANUAL,
        detail=reason,
        source=source,
        actor=actor,
    )


@transaction.atomic
def tag_members(*, members, tag, source, actor=None) -> int:
    """Add `tag` (a Tag or a name) to members (a queryset); members who have it are skipped.
    Each member's history says who tagged them, where and why."""
    if isinstance(tag, str):
        name = tag.strip()
        if not name:
            raise InvalidMember(fields={"tag": [_("A tag name is required.")]})
        tag, _created = Tag.objects.get_or_create(name=name[:30])
    through = Member.tags.through
    why = _("tag added: %(tag)s") % {"tag": tag.name}
    added = 0
    for batch in _in_chunks(members.exclude(tags=tag)):
        through.objects.bulk_create(
            [through(member_id=m.pk, tag_id=tag.pk) for m in batch], ignore_conflicts=True
        )
        bulk_note(Member, batch, actor=actor, source=source, reason=why)
        added += len(batch)
    return added


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


# --------------------------------------------------------------------------- bulk opening


def _other_columns(model, given):
    pairs = []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.generated or field.column in given:
            continue
        value = timezone.now() if getattr(field, "auto_now", False) else field.get_default()
        pairs.append((field.column, field.get_db_prep_save(value, connection)))
    return pairs


STAGE_COLUMNS = [
    ("row_no", "integer"),
    ("phone", "varchar(11)"),
    ("name", "varchar(50)"),
    ("name_initials", "varchar(50)"),
    ("gender", "varchar(1)"),
    ("birthday", "date"),
    ("email", "varchar(254)"),
    ("address", "varchar(200)"),
    ("tier_id", "bigint"),
    ("home_store_id", "bigint"),
    ("points", "integer"),
    ("stored_value", "numeric(12, 2)"),
    ("referrer_phone", "varchar(11)"),
    ("referrer_id", "bigint"),  # when the caller knows it (a member it opened, not committed)
    ("card_no", "varchar(20)"),
    ("notes", "text"),
    ("points_expire_at", "timestamptz"),
]


@transaction.atomic
def bulk_open_members(*, rows, source, actor=None, at=None, registration_bonus=False) -> dict:
    """Open many members at once (an import): what `open_member` does per row, except the
    registration bonus, which migrated members (already members of the old system) get only
    with `registration_bonus` (then the bonus in force on the day, once per member).

    `rows`: validated dicts with the keys of STAGE_COLUMNS (phones unique within `rows`;
    referrers and cards already checked). A phone that became a member meanwhile is skipped.
    Opening points, stored value and the bonus go to the ledgers' bulk writers
    (`members_imported`). Returns {phone: member_id} for the members opened.
    """
    if not rows:
        return {}
    at = at or timezone.now()
    names = [name for name, _type in STAGE_COLUMNS]
    given = set(names) - {
        "row_no", "points", "stored_value", "referrer_phone", "referrer_id", "card_no"
    }
    given |= {"member_no", "source", "opened_at", "opened_by_id", "status"}
    given -= {"points_expire_at"}
    member_other = _other_columns(Member, given)
    profile = [n for n in names if n in given]
    with connection.cursor() as cursor:
        # An import is idempotent (phones are unique, ledger keys too): if the server crashed
        # right after COMMIT, re-running the file is the recovery, so the commit need not wait
        # for the WAL flush of a 100k-row transaction. Scoped to this transaction only.
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _member_import ("
            + ", ".join(f"{n} {t}" for n, t in STAGE_COLUMNS)
            + ", member_id bigint) ON COMMIT DROP"
        )
        cursor.execute("TRUNCATE _member_import")
        with cursor.copy(f"COPY _member_import ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row.get(n) for n in names])
        # One INSERT for every member; member numbers from the sequence, in file order.
        cursor.execute(
            f"""
            WITH ins AS (
                INSERT INTO {Member._meta.db_table}
                    (member_no, source, opened_at, opened_by_id, status, {", ".join(profile)}
                     {"".join(f", {c}" for c, _ in member_other)})
                SELECT {member_no_sql()}, %s, %s, %s, %s, {", ".join(f"s.{n}" for n in profile)}
                       {"".join(", %s" for _ in member_other)}
                FROM (SELECT * FROM _member_import ORDER BY row_no) s
                ON CONFLICT (phone) DO NOTHING
                RETURNING id, phone
            )
            UPDATE _member_import s SET member_id = ins.id FROM ins WHERE s.phone = ins.phone
            """,
            [MEMBER_SOURCE.get(source, Member.Source.IMPORT), at, getattr(actor, "pk", None)]
            + [Member.Status.ACTIVE]
            + [value for _, value in member_other],
        )
        cursor.execute(
            f"""
            UPDATE {Member._meta.db_table} m SET referrer_id = COALESCE(s.referrer_id, r.id)
            FROM _member_import s
            LEFT JOIN {Member._meta.db_table} r ON r.phone = s.referrer_phone
            WHERE m.id = s.member_id AND s.referrer_phone <> ''
              AND (s.referrer_id IS NOT NULL OR r.id IS NOT NULL)
            """
        )
        cursor.execute(
            f"""
            UPDATE {Card._meta.db_table} c
            SET status = %s, member_id = s.member_id, activated_at = %s, status_changed_at = %s
            FROM _member_import s
            WHERE c.card_no = s.card_no AND s.member_id IS NOT NULL AND c.status = %s
            """,
            [Card.Status.ACTIVE, at, at, Card.Status.UNISSUED],
        )
        cursor.execute(
            "SELECT member_id, phone, points, points_expire_at, home_store_id, stored_value, "
            "row_no FROM _member_import WHERE member_id IS NOT NULL"
        )
        opened = cursor.fetchall()
    reference = _("import row %(row)s")
    hooks.members_imported.run(
        opened=[
            hooks.ImportedMember(
                member_id=mid,
                points=pts,
                points_expire_at=exp,
                store_id=store,
                stored_value=sv,
                reference=str(reference) % {"row": n},
            )
            for mid, _p, pts, exp, store, sv, n in opened
        ],
        source=source,
        actor=actor,
        at=at,
        registration_bonus=registration_bonus,
    )
    return {phone: mid for mid, phone, *_rest in opened}


# (column, SQL type) of what an import may change on an existing member; NULL: not given.
_PROFILE_STAGE = [
    ("member_id", "bigint"),
    ("name", "varchar(50)"),
    ("name_initials", "varchar(50)"),
    ("gender", "varchar(1)"),
    ("birthday", "date"),
    ("email", "varchar(254)"),
    ("address", "varchar(200)"),
    ("notes", "text"),
]


@transaction.atomic
def bulk_update_member_profiles(*, updates, source, actor=None) -> int:
    """Overwrite profile fields of existing members (import with --update-existing).

    `updates`: {member_id: {field: value}} with fields from PROFILE_FIELDS only; a field not
    given is left as it is; balances are never touched. Set-based: one COPY into a temporary
    table and one UPDATE joined to it (no member is loaded, no per-row CASE). Returns how many
    members changed.
    """
    bad = {name for fields in updates.values() for name in fields} - set(PROFILE_FIELDS)
    if bad:
        raise InvalidMember(fields={name: [_("Cannot be changed here.")] for name in bad})
    if not updates:
        return 0
    names = [name for name, _type in _PROFILE_STAGE]
    table = Member._meta.db_table
    column = {name: Member._meta.get_field(name).column for name in names[1:]}
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _member_profiles ("
            + ", ".join(f"{n} {t}" for n, t in _PROFILE_STAGE)
            + ") ON COMMIT DROP"
        )
        cursor.execute("TRUNCATE _member_profiles")
        with cursor.copy(f"COPY _member_profiles ({', '.join(names)}) FROM STDIN") as copy:
            for member_id, fields in updates.items():
                given = dict(fields)
                if "name" in given:
                    given["name_initials"] = name_initials(given["name"])
                copy.write_row([member_id, *(given.get(name) for name in names[1:])])
        new = {name: f'COALESCE(s.{name}, m."{column[name]}")' for name in names[1:]}
        sets = ", ".join(f'"{column[name]}" = {new[name]}' for name in names[1:])
        old_row = ", ".join(f'm."{column[name]}"' for name in names[1:])
        new_row = ", ".join(new[name] for name in names[1:])
        cursor.execute(
            f'UPDATE "{table}" m SET {sets} FROM _member_profiles s '
            f"WHERE m.id = s.member_id AND ({old_row}) IS DISTINCT FROM ({new_row}) RETURNING m.id"
        )
        changed = [member_id for (member_id,) in cursor.fetchall()]
    # Each member whose profile changed gets a history record, as a change in the admin does:
    # who imported it, from where, and that an import changed it.
    bulk_note_changed(Member, changed, actor=actor, source=source, reason=_("updated by an import"))
    return len(changed)
