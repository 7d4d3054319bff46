"""The statistics of a campaign's effect, from each arm's sufficient statistics (counts and sums,
never a row per member), with the standard library only.

- Relative lift on sales per member, L = mean_t / mean_c - 1, with its standard error by the
  delta method: Var(L) ~ Var(mean_t) / mean_c^2 + mean_t^2 Var(mean_c) / mean_c^4 (arms
  independent), a 95% interval L +- z * SE and the two-sided p-value of z = L / SE. The interval
  excludes zero exactly when p < 0.05.
- CUPED: each member's outcome y is replaced by y - theta (x - mean x), x their spend before
  entry, theta = cov(x, y) / var(x) pooled over both arms. It removes the part of the variance
  the past explains (a share rho^2) and leaves the expected difference alone (x was fixed before
  assignment). Used where it helps: when the past explains at least MIN_EXPLAINED of the
  variance.
- Sample ratio mismatch: a chi-square test (1 degree of freedom) of the arms' sizes against the
  share the campaign asked for. A tiny p-value means the split is broken (members lost from one
  arm), and the lift cannot be trusted.
- Minimum detectable lift for a planned launch: (z_{1-a/2} + z_{power}) * sd * sqrt(1/n_t +
  1/n_c) / mean, from the audience's spend in a window as long as the measurement window.
"""

import math
from dataclasses import dataclass
from statistics import NormalDist

ALPHA = 0.05
POWER = 0.80
MIN_EXPLAINED = 0.01
_NORMAL = NormalDist()
Z = _NORMAL.inv_cdf(1 - ALPHA / 2)


@dataclass
class Sums:
    """One arm's sufficient statistics: n, sums of y, y^2, x, x^2, x*y."""

    n: int = 0
    y: float = 0.0
    yy: float = 0.0
    x: float = 0.0
    xx: float = 0.0
    xy: float = 0.0

    def __add__(self, other):
        names = ("n", "y", "yy", "x", "xx", "xy")
        return Sums(*(getattr(self, f) + getattr(other, f) for f in names))

    @classmethod
    def of(cls, ys, xs=None):
        """From raw values (tests, small examples)."""
        xs = list(xs) if xs is not None else [0.0] * len(ys)
        return cls(
            n=len(ys),
            y=float(sum(ys)),
            yy=float(sum(v * v for v in ys)),
            x=float(sum(xs)),
            xx=float(sum(v * v for v in xs)),
            xy=float(sum(a * b for a, b in zip(xs, ys, strict=True))),
        )

    def mean_y(self):
        return self.y / self.n if self.n else 0.0

    def mean_x(self):
        return self.x / self.n if self.n else 0.0

    def var_y(self):
        return _var(self.y, self.yy, self.n)

    def var_x(self):
        return _var(self.x, self.xx, self.n)

    def cov(self):
        if self.n < 2:
            return 0.0
        return (self.xy - self.x * self.y / self.n) / (self.n - 1)


def sd_from_sums(total, squares, n):
    """The sample standard deviation from n, the sum and the sum of squares."""
    return _var(total, squares, n) ** 0.5


def _var(total, squares, n):
    if n < 2:
        return 0.0
    return max((squares - total * total / n) / (n - 1), 0.0)


def normal_p(z):
    """Two-sided p-value of a standard normal statistic."""
    return math.erfc(abs(z) / math.sqrt(2))


def srm_p_value(n_treatment, n_control, control_share):
    """p-value of the chi-square test (1 df) that the arms were split at `control_share`."""
    total = n_treatment + n_control
    if total == 0 or not 0 < control_share < 1:
        return None
    expected_c = total * control_share
    expected_t = total - expected_c
    chi2 = (n_control - expected_c) ** 2 / expected_c + (n_treatment - expected_t) ** 2 / expected_t
    # The chi-square survival function with one degree of freedom.
    return math.erfc(math.sqrt(chi2 / 2))


def cuped_theta(treatment: Sums, control: Sums):
    """(theta, share of the variance the pre-period explains), pooled over both arms: the
    within-arm covariance and variance, so the treatment's effect on y does not leak in."""
    pooled_cov = _pooled(treatment.cov(), control.cov(), treatment.n, control.n)
    pooled_var_x = _pooled(treatment.var_x(), control.var_x(), treatment.n, control.n)
    pooled_var_y = _pooled(treatment.var_y(), control.var_y(), treatment.n, control.n)
    if pooled_var_x <= 0 or pooled_var_y <= 0:
        return 0.0, 0.0
    theta = pooled_cov / pooled_var_x
    explained = pooled_cov * pooled_cov / (pooled_var_x * pooled_var_y)
    return theta, explained


def _pooled(a, b, n_a, n_b):
    dof = (n_a - 1) + (n_b - 1)
    if dof <= 0:
        return 0.0
    return ((n_a - 1) * a + (n_b - 1) * b) / dof


def lift(treatment: Sums, control: Sums, *, use_cuped=None):
    """The relative lift of treatment over control on mean y, with SE, 95% interval, p-value.
    `use_cuped`: None decides (where it helps), True / False forces. Returns a dict; the lift,
    interval and p-value are None when they cannot be computed (an empty arm, no control
    sales)."""
    theta, explained = cuped_theta(treatment, control)
    if use_cuped is None:
        use_cuped = explained >= MIN_EXPLAINED
    if not use_cuped:
        theta = 0.0
    grand_x = (treatment.x + control.x) / max(treatment.n + control.n, 1)

    def adjusted(arm):
        mean = arm.mean_y() - theta * (arm.mean_x() - grand_x)
        var = arm.var_y() - 2 * theta * arm.cov() + theta * theta * arm.var_x()
        return mean, max(var, 0.0)

    mean_t, var_t = adjusted(treatment)
    mean_c, var_c = adjusted(control)
    result = {
        "cuped": bool(use_cuped),
        "theta": theta,
        "variance_explained": explained,
        "mean_treatment": mean_t,
        "mean_control": mean_c,
        "lift": None,
        "se": None,
        "ci": None,
        "p_value": None,
    }
    if treatment.n < 2 or control.n < 2 or mean_c <= 0:
        return result
    relative = mean_t / mean_c - 1
    variance = var_t / treatment.n / mean_c**2 + mean_t**2 * var_c / control.n / mean_c**4
    se = math.sqrt(variance)
    result.update(
        lift=relative,
        se=se,
        ci=[relative - Z * se, relative + Z * se],
        p_value=normal_p(relative / se) if se > 0 else (0.0 if relative else 1.0),
    )
    return result


def minimum_detectable_lift(*, n, control_share, mean, sd, alpha=ALPHA, power=POWER):
    """The smallest relative lift on mean spend that a campaign of `n` members with this
    control share detects with the given power (None when it cannot be said)."""
    if n <= 0 or mean <= 0 or not 0 < control_share < 1:
        return None
    n_c = n * control_share
    n_t = n - n_c
    if n_c < 1 or n_t < 1:
        return None
    z = _NORMAL.inv_cdf(1 - alpha / 2) + _NORMAL.inv_cdf(power)
    return z * sd * math.sqrt(1 / n_t + 1 / n_c) / mean
