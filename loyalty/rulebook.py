"""The rules a checkout reads, kept in each process until head office changes one.

Every checkout needs the tiers, the earning rules in force for its store and tier, the
redemption rule and the expiry policy: four queries, the costliest part of a sale after its
own writes. They change a few times a month. So each process keeps a `RuleBook` and the token
it was loaded under; database triggers on every table the book reads move the token in
`RuleBookVersion` on any write (admin, bulk update, migration, SQL by hand), and a checkout
reads the token inside its account-lock query. Same token: the book in memory is what the
database holds. Another token: reload. The token is random, never a counter, so a transaction
that changed a rule and rolled back can never leave its token to match a later state.

Where the token row is missing (a flush emptied the table), the next call puts it back.
"""

import uuid

from django.db import connection
from django.utils import timezone

from loyalty.models import EarningRule, ExpiryPolicy, RedemptionRule, RuleBookVersion
from members.models import Tier

# For a caller's own query: `SELECT ..., {TOKEN_SQL} FROM ...` reads the token for free.
TOKEN_SQL = f'(SELECT token FROM "{RuleBookVersion._meta.db_table}" LIMIT 1)'

# The models the book loads. Their tables, and their many-to-many tables, are the ones the
# triggers watch (install_triggers, after every migrate): a model added here is watched from
# the next migrate on; tests/loyalty/test_rulebook.py checks that every table the book reads
# has its trigger.
BOOK_MODELS = (Tier, EarningRule, RedemptionRule, ExpiryPolicy)
TOUCH_FUNCTION = "loyalty_rulebook_touch"


def watched_tables():
    tables = []
    for model in BOOK_MODELS:
        tables.append(model._meta.db_table)
        for field in model._meta.local_many_to_many:
            tables.append(field.remote_field.through._meta.db_table)
    return tables


def install_triggers(using="default", **kwargs):
    """Create (or replace) the token trigger on every watched table. Idempotent; runs after
    every migrate (post_migrate), so the watched set follows BOOK_MODELS."""
    from django.db import connections

    version = RuleBookVersion._meta.db_table
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"CREATE OR REPLACE FUNCTION {TOUCH_FUNCTION}() RETURNS trigger LANGUAGE plpgsql "
            f"AS $$ BEGIN UPDATE {version} SET token = replace(gen_random_uuid()::text, '-', ''); "
            "RETURN NULL; END $$"
        )
        for table in watched_tables():
            cursor.execute(
                f'CREATE OR REPLACE TRIGGER "{table}_rulebook" AFTER INSERT OR UPDATE OR DELETE '
                f'OR TRUNCATE ON "{table}" FOR EACH STATEMENT EXECUTE FUNCTION {TOUCH_FUNCTION}()'
            )

_kept = None


def read_token():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {TOKEN_SQL}")
        return cursor.fetchone()[0]


def _restore_token():
    """Put the token row back (id 1, a fresh token) and return the token in force."""
    table = RuleBookVersion._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" (id, token) VALUES (1, %s) ON CONFLICT (id) DO NOTHING',
            [uuid.uuid4().hex],
        )
    return read_token()


def get(token=...):
    """The rule book as the database holds it now. Pass the `token` your own query read, to
    save the round trip of reading it here."""
    global _kept
    if token is ...:
        token = read_token()
    if token is None:
        token = _restore_token()
    book = _kept
    if book is not None and book.token == token:
        return book
    _kept = book = RuleBook(token)
    return book


def _in_force(rule, day):
    return (rule.start_date is None or rule.start_date <= day) and (
        rule.end_date is None or rule.end_date >= day
    )


class RuleBook:
    """One consistent load of the rules; the answers match the queries they replace."""

    def __init__(self, token):
        self.token = token
        self.tiers = list(Tier.objects.all())
        self.default_tier = next((t for t in self.tiers if t.is_default), None)
        self.earning = list(EarningRule.objects.filter(is_active=True).order_by("-priority", "id"))
        self.redemption = list(
            RedemptionRule.objects.filter(is_active=True).order_by("-priority", "-id")
        )
        self.expiry = list(
            ExpiryPolicy.objects.filter(is_active=True).order_by("-start_date", "-id")
        )
        stores = _links(EarningRule.stores.through, "earningrule_id", "store_id")
        tiers = _links(EarningRule.tiers.through, "earningrule_id", "tier_id")
        for rule in self.earning:
            rule.store_ids = stores.get(rule.pk, frozenset())
            rule.tier_ids = tiers.get(rule.pk, frozenset())
        stores = _links(RedemptionRule.stores.through, "redemptionrule_id", "store_id")
        for rule in self.redemption:
            rule.store_ids = stores.get(rule.pk, frozenset())

    def tier(self, tier_id):
        """The member's tier, or the default tier for a member not yet placed in one."""
        return next((t for t in self.tiers if t.pk == tier_id), None) or self.default_tier

    def earning_rules(self, *, store, tier, at):
        """Active earning rules for this store, tier and day (weekday and hours are checked
        when earning is computed), highest priority first."""
        day = timezone.localtime(at).date()
        return [
            rule
            for rule in self.earning
            if _in_force(rule, day)
            and (not rule.store_ids or store.pk in rule.store_ids)
            and (not rule.tier_ids or (tier is not None and tier.pk in rule.tier_ids))
        ]

    def redemption_rule(self, *, store, at):
        """The redemption rule in force for this store now (highest priority), or None."""
        local = timezone.localtime(at)
        for rule in self.redemption:
            if (not rule.store_ids or store.pk in rule.store_ids) and rule.applies_on(local):
                return rule
        return None

    def expiry_policy(self, at):
        """The expiry policy in force on the day of `at`, or None (points never expire)."""
        day = timezone.localtime(at).date()
        return next((p for p in self.expiry if p.start_date <= day), None)


def _links(through, left, right):
    links = {}
    for a, b in through.objects.values_list(left, right):
        links.setdefault(a, set()).add(b)
    return {a: frozenset(b) for a, b in links.items()}
