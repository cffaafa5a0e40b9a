"""The retry planner: the first unknown result becomes a finite plan of absolute attempt times.

Pure: the same inputs always give the same plan. Jitter is deterministic (a hash of a key and
the attempt number), so a plan can be recomputed after a crash and thousands of payments that
went unknown at the same instant still do not retry in lockstep.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib

import attrs

from ._product import Product
from ._time import UTC, isoformat, positive_timedelta, require_aware
from ._window import WindowPolicy, builtin_window
from .errors import InvalidTimeError, PolicyError, UnsupportedProductError

__all__ = [
    "ACQP_RETRY_POLICY",
    "ANTOM_RETRY_POLICY",
    "FinalStep",
    "PlannedAttempt",
    "RetryPhase",
    "RetryPlan",
    "RetryPolicy",
    "plan_retries",
]

#: Hard cap on attempts in one plan, so a misconfigured policy cannot plan forever.
MAX_PLANNED_ATTEMPTS = 500
#: The longest gap a phase may have; with the attempt cap, a plan spans at most ~500 years.
MAX_GAP = dt.timedelta(days=366)
#: Plans starting before this year cannot run past ``datetime.max`` (year 9999).
_SAFE_UNTIL_YEAR = 9999 - 510


class FinalStep(str, enum.Enum):
    """What happens when every planned attempt answered ``U`` or nothing."""

    #: Hand the case to the platform's support with the evidence (S0: still ``U`` -> contact).
    ESCALATE = "escalate"

    def __str__(self) -> str:
        return self.value


def _micros(value: dt.timedelta) -> int:
    return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds


@attrs.frozen
class RetryPhase:
    """A run of attempts with gaps drawn (deterministically) from ``[min_gap, max_gap]``.

    Exactly one of ``attempts`` (how many) and ``within`` (attempts while their time is at most
    this long after the first unknown result) bounds the phase.
    """

    name: str
    min_gap: dt.timedelta = attrs.field(validator=positive_timedelta)
    max_gap: dt.timedelta = attrs.field(validator=positive_timedelta)
    attempts: int | None = None
    within: dt.timedelta | None = None
    # The bounds in microseconds, computed once for the planner.
    _low: int = attrs.field(init=False, eq=False, repr=False)
    _gaps: tuple[int, ...] = attrs.field(init=False, eq=False, repr=False)
    _plan: tuple[int, int | None, int | None, tuple[int, ...]] = attrs.field(
        init=False, eq=False, repr=False
    )
    _limit: int | None = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.max_gap < self.min_gap:
            raise PolicyError(message="max_gap must be >= min_gap", field="max_gap")
        if self.max_gap > MAX_GAP:
            raise PolicyError(message="max_gap must be at most 366 days", field="max_gap")
        if (self.attempts is None) == (self.within is None):
            raise PolicyError(
                message=f"phase {self.name!r}: set exactly one of attempts and within",
                field="attempts",
            )
        if self.attempts is not None and (
            isinstance(self.attempts, bool) or not 1 <= self.attempts <= MAX_PLANNED_ATTEMPTS
        ):
            raise PolicyError(
                message=f"attempts must be 1..{MAX_PLANNED_ATTEMPTS}", field="attempts"
            )
        if self.within is not None and self.within < self.min_gap:
            raise PolicyError(message="within must be at least min_gap", field="within")
        low = _micros(self.min_gap)
        spread_ms = (_micros(self.max_gap) - low) // 1000
        object.__setattr__(self, "_low", low)
        object.__setattr__(self, "_limit", None if self.within is None else _micros(self.within))
        # The gap each jitter byte (0-255) picks: whole milliseconds of jitter over the spread,
        # so stored plans compare exactly everywhere. Empty when there is nothing to spread.
        gaps = tuple(low + byte * spread_ms // 255 * 1000 for byte in range(256))
        object.__setattr__(self, "_gaps", gaps if spread_ms else ())
        object.__setattr__(self, "_plan", (low, self._limit, self.attempts, self._gaps))


@attrs.frozen
class RetryPolicy:
    """A retry schedule for unknown results of one product.

    Args:
        name: a label stored in decision records.
        phases: the phases in order; each starts after the previous one's last attempt.
        then: the final step when every attempt stays unknown.
        escalate_to: who gets the escalation (shown in the support record).
        cutoff_rule: why the plan treats the cut-off as it does (stored with each plan).
    """

    name: str
    phases: tuple[RetryPhase, ...]
    then: FinalStep = FinalStep.ESCALATE
    escalate_to: str = ""
    cutoff_rule: str = ""

    def __attrs_post_init__(self) -> None:
        if not self.phases:
            raise PolicyError(message="a retry policy needs at least one phase", field="phases")
        for phase in self.phases:
            if not isinstance(phase, RetryPhase):
                raise PolicyError(message="phases must be RetryPhase values", field="phases")


@attrs.frozen
class PlannedAttempt:
    """One planned resend of the same request.

    Attributes:
        number: the attempt number counted from the original request (the first retry is 2).
        after_cutoff: sent at or after the window's end: it can only confirm an earlier attempt
            (``SUCCESS``) or learn that the window closed (``CANCEL_WINDOW_EXCEED``).
    """

    at: dt.datetime
    phase: str
    number: int
    after_cutoff: bool


@attrs.frozen
class RetryPlan:
    """A finite plan: attempts at absolute times, then a final step.

    The plan is stored compactly, as microsecond offsets from ``first_unknown_at`` and the index
    of each attempt's phase; :attr:`attempts` and :meth:`attempt` expand them.
    """

    policy: RetryPolicy
    first_unknown_at: dt.datetime
    offsets_us: tuple[int, ...]
    phase_indexes: tuple[int, ...]
    then: FinalStep
    cutoff: dt.datetime | None
    #: The attempt number of the plan's first retry: 2 after a first attempt, later for a plan
    #: made when a cancellation is resent after a hold.
    first_number: int = 2

    def __len__(self) -> int:
        return len(self.offsets_us)

    def attempt(self, number: int) -> PlannedAttempt | None:
        """The planned attempt with this number (the first retry is 2), or ``None`` when the
        plan is exhausted."""
        index = number - self.first_number
        if not 0 <= index < len(self.offsets_us):
            return None
        at = self.first_unknown_at + dt.timedelta(microseconds=self.offsets_us[index])
        return PlannedAttempt(
            at=at,
            phase=self.policy.phases[self.phase_indexes[index]].name,
            number=number,
            after_cutoff=self.cutoff is not None and at >= self.cutoff,
        )

    def min_gap(self, number: int) -> dt.timedelta:
        """The shortest gap allowed before attempt ``number`` (its phase's ``min_gap``); the
        last phase's for numbers past the plan."""
        index = min(number - self.first_number, len(self.phase_indexes) - 1)
        phase = self.phase_indexes[index] if index >= 0 else 0
        return self.policy.phases[phase].min_gap

    @property
    def attempts(self) -> tuple[PlannedAttempt, ...]:
        """Every planned attempt, in order."""
        return tuple(
            attempt
            for attempt in (
                self.attempt(n)
                for n in range(self.first_number, self.first_number + len(self.offsets_us))
            )
            if attempt is not None
        )

    def describe_cutoff(self) -> str:
        """What the plan does around the cut-off, and why."""
        if self.cutoff is None:
            return "No cut-off applies to this plan."
        attempts = self.attempts
        late = sum(1 for a in attempts if a.after_cutoff)
        head = (
            f"The window closes at {isoformat(self.cutoff)}; {len(attempts) - late} of "
            f"{len(attempts)} attempts fall before it and {late} at or after it. "
        )
        return head + self.policy.cutoff_rule


def _plan_phase(phase: RetryPhase, offsets: list[int], noise: bytes) -> bytes:
    """Append one phase's attempt offsets; returns the jitter bytes (extended if needed)."""
    low, limit, attempts, gaps = phase._plan
    used = len(offsets)
    offset = offsets[-1] if used else 0
    # At most this many attempts fit in the phase (each gap is at least ``low``).
    count = MAX_PLANNED_ATTEMPTS - used
    if attempts is not None and attempts < count:
        count = attempts
    if limit is not None and (limit - offset) // low < count:
        count = (limit - offset) // low
    if count <= 0:
        return noise
    if not gaps:  # no jitter: the whole phase is one range
        offsets += range(offset + low, offset + low * count + 1, low)
        return noise
    while len(noise) < used + count:  # more jittered attempts than bytes: extend
        noise += hashlib.sha256(noise).digest()
    # Each jitter byte picks its gap from the phase's table; the running sum is the plan.
    for byte in noise[used : used + count]:
        offset += gaps[byte]
        if limit is not None and offset > limit:
            break
        offsets.append(offset)
    return noise


def plan_retries(
    *,
    policy: RetryPolicy,
    first_unknown_at: dt.datetime,
    cutoff: dt.datetime | None = None,
    jitter_key: str = "",
    first_number: int = 2,
) -> RetryPlan:
    """Turn the first unknown result into a finite plan.

    Jitter is deterministic: the bytes of ``sha256(jitter_key)`` pick each gap in its phase's
    ``[min_gap, max_gap]`` (1/255 steps), so the same key always gets the same plan and
    different keys spread out.

    Args:
        policy: the schedule.
        first_unknown_at: when the first ``U`` (or the timeout of the first request) came.
        cutoff: the end of the cancel window, to mark attempts after it; ``None`` if none.
        jitter_key: spreads attempts deterministically; use the cancellation's key.
        first_number: the attempt number of the first retry (2 unless attempts came before).

    Returns:
        The plan, attempt times strictly increasing, stored in UTC.

    Raises:
        InvalidTimeError: a naive datetime.
    """
    start = require_aware(first_unknown_at, "first_unknown_at")
    if start.tzinfo is not UTC:
        start = start.astimezone(UTC)
    if cutoff is not None:
        require_aware(cutoff, "cutoff")
    offsets: list[int] = []
    indexes: list[int] = []
    noise = hashlib.sha256(jitter_key.encode()).digest()
    for index, phase in enumerate(policy.phases):
        used = len(offsets)
        noise = _plan_phase(phase, offsets, noise)
        indexes += [index] * (len(offsets) - used)
    if offsets and start.year >= _SAFE_UNTIL_YEAR:
        try:
            start + dt.timedelta(microseconds=offsets[-1])
        except OverflowError as exc:
            raise InvalidTimeError(
                message="the retry plan runs past the supported date range (year 9999)",
                field="first_unknown_at",
            ) from exc
    return RetryPlan(
        policy=policy,
        first_unknown_at=start,
        offsets_us=tuple(offsets),
        phase_indexes=tuple(indexes),
        then=policy.then,
        cutoff=cutoff,
        first_number=first_number,
    )


_ALIPAYPLUS_CUTOFF_RULE = (
    "The mandated schedule wins over the cut-off: attempts are neither squeezed in before "
    "00:15 UTC+8 (S0 asks for 5-10 s gaps in the first minute, then 5-minute gaps) nor dropped "
    "after it. A resend with the same paymentRequestId after the cut-off is still worth "
    "sending: if an earlier attempt landed, Alipay+ answers SUCCESS (the request is idempotent) "
    "and the order is cancelled; if none did, it answers CANCEL_WINDOW_EXCEED and the full "
    "amount is refunded instead (S0). Either answer ends the plan; only a plan that stays U to "
    "the end is escalated."
)

#: Alipay+ ACQP (S0): every 5-10 s in the first 60 s, then 10 more 5 minutes apart, then
#: escalate to Alipay+ support with the evidence.
ACQP_RETRY_POLICY = RetryPolicy(
    name="alipayplus-acqp-s0",
    phases=(
        RetryPhase(
            name="first_minute",
            min_gap=dt.timedelta(seconds=5),
            max_gap=dt.timedelta(seconds=10),
            within=dt.timedelta(seconds=60),
        ),
        RetryPhase(
            name="every_5_minutes",
            min_gap=dt.timedelta(minutes=5),
            max_gap=dt.timedelta(minutes=5),
            attempts=10,
        ),
    ),
    then=FinalStep.ESCALATE,
    escalate_to="overseas_support@service.alibaba.com",
    cutoff_rule=_ALIPAYPLUS_CUTOFF_RULE,
)

#: Antom (S2, S4) mandates no schedule, only "resend with the same id" and "contact support if
#: it persists". The default mirrors Alipay+'s, which Ant's platforms are sized for: every
#: 5-10 s in the first minute, then 10 more 5 minutes apart, then escalate.
ANTOM_RETRY_POLICY = RetryPolicy(
    name="antom-default",
    phases=ACQP_RETRY_POLICY.phases,
    then=FinalStep.ESCALATE,
    escalate_to="Antom technical support",
    cutoff_rule=(
        "Attempts after the contract's cut-off are still sent with the same id: one that "
        "landed earlier is confirmed as SUCCESS, otherwise Antom answers CANCEL_WINDOW_EXCEED, "
        "which is final (the payment can only be refunded). Only a plan that stays U to the end "
        "is escalated."
    ),
)


def default_retry_policy(product: Product) -> RetryPolicy:
    """The default policy of a calling role.

    Raises:
        UnsupportedProductError: for the MPP, which receives cancels and never retries them.
    """
    if product is Product.ALIPAYPLUS_ACQP:
        return ACQP_RETRY_POLICY
    if product is Product.ANTOM:
        return ANTOM_RETRY_POLICY
    raise UnsupportedProductError(
        message="the MPP receives cancelPayment; Alipay+ does the retrying, not the wallet",
        product=product.value,
        operation="plan",
    )


def plan_for(
    *,
    product: Product,
    initiated_at: dt.datetime,
    first_unknown_at: dt.datetime,
    window: WindowPolicy | None = None,
    policy: RetryPolicy | None = None,
    jitter_key: str = "",
) -> RetryPlan:
    """:func:`plan_retries` with the product's defaults and its window's cut-off."""
    resolved_policy = policy if policy is not None else default_retry_policy(product)
    resolved_window = builtin_window(product, window)
    return plan_retries(
        policy=resolved_policy,
        first_unknown_at=first_unknown_at,
        cutoff=resolved_window.cancellable_until(initiated_at),
        jitter_key=jitter_key,
    )
