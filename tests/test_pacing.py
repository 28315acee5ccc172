"""The client-side model of ARM's token buckets (pure: a fake clock drives it)."""

from provisioner.azure.pacing import ArmPacer

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
