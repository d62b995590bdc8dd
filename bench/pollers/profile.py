"""The sizes and times of a pollers run: the full run and the smoke run for CI."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """Sizes and times (seconds) of one kind of run."""

    name: str
    pollers: int
    seconds: float
    articles: int
    categories: int
    think_min: float
    think_max: float
    ramp: float
    publish_every: float
    request_timeout: float
    render_budget: float


FULL = Profile(
    name="full",
    pollers=1000,
    seconds=60,
    articles=300,
    categories=8,
    think_min=0.5,
    think_max=2.0,
    ramp=2.0,
    publish_every=1.0,
    request_timeout=10.0,
    render_budget=180,
)
SMOKE = Profile(
    name="smoke",
    pollers=100,
    seconds=5,
    articles=100,
    categories=4,
    think_min=0.2,
    think_max=1.0,
    ramp=0.5,
    publish_every=1.0,
    request_timeout=10.0,
    render_budget=120,
)
