"""The auth service's own metrics (docs/metrics.md): sign-in refusals and throttling."""

from __future__ import annotations

from prometheus_client import Counter

from services.runtime.metrics import NAMESPACE

SIGNIN_FAILURES = Counter(
    "signin_failures",
    "Sign-ins refused, by reason: unknown_email, no_password, wrong_password, inactive, "
    "changed (the account changed while the password was checked).",
    ["reason"],
    namespace=NAMESPACE,
)
SIGNIN_THROTTLED = Counter(
    "signin_throttled",
    "Sign-ins refused unchecked because earlier failures made them wait, by what was throttled "
    "(account: the e-mail as typed; address: the client's IP address).",
    ["scope"],
    namespace=NAMESPACE,
)
