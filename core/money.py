"""Money is Decimal with 2 places (CNY), points are ints; splits always add up exactly."""

from decimal import Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def allocate(total, weights):
    """Split int `total` over `weights` in proportion, by largest remainder (sums exactly)."""
    if not weights:
        return []
    weight_sum = sum(weights)
    if not total:
        return [0] * len(weights)
    if weight_sum <= 0:
        return [total] + [0] * (len(weights) - 1)
    raw = [Decimal(total) * Decimal(w) / Decimal(weight_sum) for w in weights]
    shares = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - shares[i]), i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def allocate_money(amount, weights):
    """Split a money `amount` over `weights` to the cent, summing exactly."""
    cents = allocate(int((amount / CENT).to_integral_value()), weights)
    return [Decimal(c) * CENT for c in cents]
