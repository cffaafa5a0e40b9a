"""paycancel: payment cancellation done right for Alipay+ (ACQP, MPP) and Antom.

The core is pure (no I/O): orders, cancel windows in UTC+8, result-code catalogs as data, the
retry planner, the cancellation state machine and one sans-I/O use case per role. Drivers run
the use cases against the ports in :mod:`paycancel.typing`; :mod:`paycancel.testing` has fakes.
"""

from __future__ import annotations

from ._acqp import (
    AcqpSettings,
    InquiryResult,
    MerchantClosed,
    NotificationReceived,
    PaymentWatch,
    PayResult,
    WatchDecision,
    WatchInput,
    WatchState,
    WatchTick,
    decide_watch,
)
from ._async_driver import AsyncDriver
from ._cancellation import Attempt, AttemptKind, Cancellation, DecisionRecord, LateResult, Reply
from ._catalog import (
    CATALOG,
    CATALOG_VERSION,
    Action,
    CodeRule,
    Interpretation,
    Outcome,
    interpret,
)
from ._clock import SystemClock
from ._command import (
    Command,
    Escalate,
    ReverseFunds,
    ScheduleWakeup,
    SendCancel,
    SendInquiry,
    SendRefund,
    StartCancellation,
)
from ._driver import SyncDriver
from ._event import Event, log_events
from ._flow import (
    Begin,
    CancelAnswered,
    CancelConfig,
    FlowInput,
    PaymentNotified,
    RefundAnswered,
    RetryDue,
    decide,
    default_refund_request_id,
)
from ._identifier import (
    MAX_ID_LENGTH,
    AcquirerId,
    PaymentId,
    PaymentRequestId,
    PspId,
    RefundRequestId,
)
from ._memory import InMemoryCancellationStore, InMemoryScheduler, InMemoryStore
from ._money import ISO_4217_CURRENCIES, Money
from ._mpp import (
    CancelReceived,
    MppCancelRequest,
    MppDecision,
    MppSettings,
    ReversalDone,
    ReversalFailed,
    ReversalOutcome,
    Reversed,
    decide_mpp,
    payment_admissible,
)
from ._mpp_service import AsyncMppService, MppService
from ._order import PaymentOrder, mpp_key
from ._outcome import (
    Answered,
    GatewayOutcome,
    InquiryAnswered,
    InquiryOutcome,
    NoAnswer,
    NotSent,
)
from ._product import (
    Api,
    PaymentFlow,
    PaymentMethodFamily,
    Product,
    ResultStatus,
    to_result_status,
)
from ._retry import (
    ACQP_RETRY_POLICY,
    ANTOM_RETRY_POLICY,
    FinalStep,
    PlannedAttempt,
    RetryPhase,
    RetryPlan,
    RetryPolicy,
    default_retry_policy,
    plan_for,
    plan_retries,
)
from ._state import TERMINAL_STATES, TRANSITIONS, CancellationState, Trigger, next_state
from ._step import Decision
from ._time import UTC8
from ._window import ACQP_WINDOW, MPP_WINDOW, WindowPolicy, builtin_window

__version__ = "0.1.0"

__all__ = [
    "ACQP_RETRY_POLICY",
    "ACQP_WINDOW",
    "ANTOM_RETRY_POLICY",
    "CATALOG",
    "CATALOG_VERSION",
    "ISO_4217_CURRENCIES",
    "MAX_ID_LENGTH",
    "MPP_WINDOW",
    "TERMINAL_STATES",
    "TRANSITIONS",
    "UTC8",
    "AcqpSettings",
    "AcquirerId",
    "Action",
    "Answered",
    "Api",
    "AsyncDriver",
    "AsyncMppService",
    "Attempt",
    "AttemptKind",
    "Begin",
    "CancelAnswered",
    "CancelConfig",
    "CancelReceived",
    "Cancellation",
    "CancellationState",
    "CodeRule",
    "Command",
    "Decision",
    "DecisionRecord",
    "Escalate",
    "Event",
    "FinalStep",
    "FlowInput",
    "GatewayOutcome",
    "InMemoryCancellationStore",
    "InMemoryScheduler",
    "InMemoryStore",
    "InquiryAnswered",
    "InquiryOutcome",
    "InquiryResult",
    "Interpretation",
    "LateResult",
    "MerchantClosed",
    "Money",
    "MppCancelRequest",
    "MppDecision",
    "MppService",
    "MppSettings",
    "NoAnswer",
    "NotSent",
    "NotificationReceived",
    "Outcome",
    "PayResult",
    "PaymentFlow",
    "PaymentId",
    "PaymentMethodFamily",
    "PaymentNotified",
    "PaymentOrder",
    "PaymentRequestId",
    "PaymentWatch",
    "PlannedAttempt",
    "Product",
    "PspId",
    "RefundAnswered",
    "RefundRequestId",
    "Reply",
    "ResultStatus",
    "RetryDue",
    "RetryPhase",
    "RetryPlan",
    "RetryPolicy",
    "ReversalDone",
    "ReversalFailed",
    "ReversalOutcome",
    "ReverseFunds",
    "Reversed",
    "ScheduleWakeup",
    "SendCancel",
    "SendInquiry",
    "SendRefund",
    "StartCancellation",
    "SyncDriver",
    "SystemClock",
    "Trigger",
    "WatchDecision",
    "WatchInput",
    "WatchState",
    "WatchTick",
    "WindowPolicy",
    "builtin_window",
    "decide",
    "decide_mpp",
    "decide_watch",
    "default_refund_request_id",
    "default_retry_policy",
    "interpret",
    "log_events",
    "mpp_key",
    "next_state",
    "payment_admissible",
    "plan_for",
    "plan_retries",
    "to_result_status",
]
