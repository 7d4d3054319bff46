"""Access by store: the one place that decides which stores' rows a back-office user sees.

Head office (superusers and holders of `stores.view_all_stores`) sees every store. Any other
user sees the stores they are linked to through an active `Staff` row. Admin classes scope
their list, change, delete and export views with `StoreScopedAdminMixin`; other code (reports,
selectors) calls `scope_queryset` directly.
"""

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


def scope_queryset(queryset, user, store_field):
    """Restrict `queryset` to rows whose `store_field` (a lookup path to Store) the user sees."""
    ids = allowed_store_ids(user)
    if ids is ALL_STORES:
        return queryset
    return queryset.filter(**{f"{store_field}__in": ids})


def can_access_store(user, store):
    ids = allowed_store_ids(user)
    return ids is ALL_STORES or (store is not None and store.pk in ids)


class StoreScopedAdminMixin:
    """Admin mixin: a user sees, opens, changes, deletes and exports only rows of their stores.

    Set `store_field` to the lookup path from the model to its Store ("store", "home_store",
    "member__home_store"). Store choices in forms are limited the same way, so a store manager
    cannot move a row to another store either.
    """

    store_field = "store"

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user, self.store_field)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Store:
            kwargs["queryset"] = scope_queryset(Store.objects.all(), request.user, "id")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
