"""Access by store: the one place that decides which stores' rows a back-office user sees.

Head office (superusers and holders of `stores.view_all_stores`) sees every store. Any other
user sees the stores they are linked to through an active `Staff` row. Admin classes scope
their list, change, delete and export views with `StoreScopedAdminMixin`; other code (reports,
selectors) calls `scope_queryset` directly.
"""

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q

from .models import Store

ALL_STORES = None


def allowed_store_ids(user):
    """Ids of the stores `user` may see, or ALL_STORES (None) for head office."""
    if not user or not user.is_active:
        return set()
    if user.is_superuser or user.has_perm("stores.view_all_stores"):
        return ALL_STORES
    cached = getattr(user, "_allowed_store_ids", None)
    if cached is None:
        cached = set(
            Store.objects.filter(staff__user=user, staff__is_active=True).values_list(
                "id", flat=True
            )
        )
        user._allowed_store_ids = cached
    return cached


def store_groups_of_users():
    """The sets of stores (frozensets of ids) that an active user who is not head office sees
    through more than one active Staff row: the views an area manager has, for figures kept
    per such view."""
    from collections import defaultdict

    from .models import Staff

    seen = defaultdict(set)
    rows = Staff.objects.filter(
        is_active=True, user__isnull=False, user__is_active=True, user__is_superuser=False
    ).exclude(  # head office sees the chain, whatever Staff rows it has
        Q(user__user_permissions__codename="view_all_stores")
        | Q(user__groups__permissions__codename="view_all_stores")
    )
    for user_id, store_id in rows.values_list("user_id", "store_id"):
        seen[user_id].add(store_id)
    return {frozenset(stores) for stores in seen.values() if len(stores) > 1}


def scope_queryset(queryset, user, store_field):
    """Restrict `queryset` to rows whose `store_field` (a lookup path to Store) the user sees."""
    ids = allowed_store_ids(user)
    if ids is ALL_STORES:
        return queryset
    return queryset.filter(**{f"{store_field}__in": ids})


def can_access_store(user, store):
    ids = allowed_store_ids(user)
    return ids is ALL_STORES or (store is not None and store.pk in ids)


def scoped_choices(model, user):
    """The rows of `model` a form may offer `user`, when `model` is a store or belongs to one
    (a store's staff, its tills); None for anything else."""
    if model is Store:
        return scope_queryset(Store.objects.all(), user, "id")
    for field in model._meta.fields:
        if field.name in ("store", "home_store") and field.related_model is Store:
            return scope_queryset(model._default_manager.all(), user, field.name)
    return None


class StoreListFilter(admin.RelatedFieldListFilter):
    """A list filter on a store that offers only the stores the user may see: a store
    manager's sidebar never lists (or names) another store."""

    def field_choices(self, field, request, model_admin):
        stores = scope_queryset(Store.objects.order_by("code"), request.user, "id")
        return [(store.pk, str(store)) for store in stores]


def leads_to_store(model, lookup):
    """Whether the list-filter lookup `lookup` ("store", "member__home_store") ends in Store."""
    try:
        fields = get_fields_from_path(model, lookup)
    except (FieldDoesNotExist, LookupError, AttributeError):
        return False
    return getattr(fields[-1], "related_model", None) is Store


def scoped_list_filter(model, list_filter):
    """`list_filter` with every plain filter on a store relation made a StoreListFilter."""
    return [
        (item, StoreListFilter) if isinstance(item, str) and leads_to_store(model, item) else item
        for item in list_filter
    ]


class StoreScopedAdminMixin:
    """Admin mixin: a user sees, opens, changes, deletes and exports only rows of their stores.

    Set `store_field` to the lookup path from the model to its Store ("store", "home_store",
    "member__home_store"). Store choices in forms and in the filter sidebar are limited the
    same way, so a store manager cannot move a row to another store, nor learn its name.
    """

    store_field = "store"

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user, self.store_field)

    def get_list_filter(self, request):
        return scoped_list_filter(self.model, super().get_list_filter(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        choices = scoped_choices(db_field.related_model, request.user)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class StoreScopedInlineMixin:
    """The same for an inline: a store manager sees only their stores' rows of it (e.g. the
    stock of a gift in each store)."""

    store_field = "store"

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user, self.store_field)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        choices = scoped_choices(db_field.related_model, request.user)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
