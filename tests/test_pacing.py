"""The client-side model of ARM's token buckets (pure: a fake clock drives it)."""

import pytest

from provisioner.azure.deadline import RunDeadline
from provisioner.azure.pacing import ArmPacer, PacerLimits
from provisioner.errors import ExitCode, TimedOutError

SUB = "https://arm/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Network/dnsZones/z/TXT/@"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_writes_burst_200_then_pace_at_10_per_second() -> None:
    clock = Clock()
    pacer = ArmPacer(clock=clock, sleep=clock.sleep)
    for _ in range(200):
        pacer.before("PUT", SUB)
    assert clock.slept == []
    for _ in range(20):
        pacer.before("PUT", SUB)
    assert abs(clock.now - 2.0) < 1e-9  # 20 more writes need 2 s of refill


def test_reads_and_writes_and_subscriptions_are_separate_buckets() -> None:
    clock = Clock()
    pacer = ArmPacer(clock=clock, sleep=clock.sleep)
    for _ in range(200):
        pacer.before("POST", SUB)
    for _ in range(250):
        pacer.before("GET", SUB)
    for _ in range(200):
        pacer.before("PUT", SUB.replace("0000", "1111"))
    assert clock.slept == []


def test_arm_remaining_header_lowers_the_model() -> None:
    clock = Clock()
    pacer = ArmPacer(clock=clock, sleep=clock.sleep)
    pacer.after("PUT", SUB, 200, {"x-ms-ratelimit-remaining-subscription-writes": "0"})
    pacer.before("PUT", SUB)
    assert abs(clock.now - 0.1) < 1e-9  # someone else drained the bucket: wait for one refill


def test_arm_throttling_429_empties_the_bucket_and_is_counted() -> None:
    clock = Clock()
    pacer = ArmPacer(clock=clock, sleep=clock.sleep)
    pacer.after("GET", SUB, 429, {"x-ms-ratelimit-remaining-subscription-reads": "0"})
    assert pacer.throttled == 1
    pacer.before("GET", SUB)
    assert abs(clock.now - 1 / 25) < 1e-9


def test_a_429_without_ratelimit_headers_does_not_slow_every_other_request() -> None:
    clock = Clock()
    pacer = ArmPacer(clock=clock, sleep=clock.sleep)
    pacer.after("PUT", SUB, 429, {})
    assert pacer.throttled == 1
    pacer.before("PUT", SUB)
    assert clock.slept == []


def test_higher_remaining_header_does_not_raise_the_model() -> None:
    clock = Clock()
    pacer = ArmPacer(clock=clock, sleep=clock.sleep)
    for _ in range(200):
        pacer.before("PUT", SUB)
    pacer.after("PUT", SUB, 200, {"x-ms-ratelimit-remaining-subscription-writes": "150"})
    pacer.before("PUT", SUB)
    assert clock.slept  # in-flight requests already took those tokens


def test_limits_are_configurable() -> None:
    clock = Clock()
    pacer = ArmPacer(PacerLimits(write_burst=2, writes_per_second=4), clock=clock, sleep=clock.sleep)
    for _ in range(6):
        pacer.before("PUT", SUB)
    assert abs(clock.now - 1.0) < 1e-9  # 2 at once, then 4 more at 4 per second
    for _ in range(250):
        pacer.before("GET", SUB)  # reads keep ARM's default bucket
    assert abs(clock.now - 1.0) < 1e-9


@pytest.mark.parametrize("field", ["read_burst", "reads_per_second", "write_burst", "writes_per_second"])
@pytest.mark.parametrize("value", [0, -1, float("inf"), float("nan")])
def test_limits_must_be_positive_and_finite(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        PacerLimits(**{field: value})


def test_a_wait_past_the_run_deadline_raises_the_timeout_at_once_and_keeps_the_token() -> None:
    clock = Clock()
    deadline = RunDeadline(0.5, clock=clock)
    pacer = ArmPacer(
        PacerLimits(write_burst=1, writes_per_second=1), deadline=deadline, clock=clock, sleep=clock.sleep
    )
    pacer.before("PUT", SUB)
    with pytest.raises(TimedOutError) as caught:
        pacer.before("PUT", SUB)  # the next token is 1 s away, the run ends in 0.5 s
    assert caught.value.exit_code is ExitCode.TIMED_OUT
    assert "write budget" in caught.value.message
    assert "https://arm" in caught.value.message
    assert clock.slept == []
    clock.now = 1.0
    deadline.at = 10.0
    pacer.before("PUT", SUB)  # the refused request did not use up the token that refilled meanwhile
    assert clock.slept == []
