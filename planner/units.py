"""The one place numbers are scaled, rounded and spelled.

- The solver's integer scaling (CP-SAT takes integers): costs in 1e-4 currency, hours in
  1e-4 h, every scaled value at most ``MAX_UNITS``. The search uses it to offer CP-SAT only
  what it can represent; nothing reaches into the solver for it.
- The result's rounding: floats to ``SIGNIFICANT_DIGITS`` significant digits, once, when
  the result is built.
- How bytes, durations, money, counts and layouts read, so a layout or a cost reads the
  same in a reason, the terminal table, a pull-request comment and the HTML page. Every
  function is pure and deterministic.
"""

from __future__ import annotations

import math

# ---------------------------------------------------------------- solver scaling
COST_SCALE = 10_000  # integer cost units per currency unit (1e-4 currency resolution)
HOURS_SCALE = 10_000  # integer time units per hour (1e-4 h = 0.36 s resolution)
MAX_UNITS = 2**50  # largest scaled value of one option (keeps CP-SAT's sums far below int64)


def cost_units(cost: float) -> int:
    """Cost in integer units of 1/COST_SCALE currency (half to even)."""
    return round(cost * COST_SCALE)


def hours_units(hours: float) -> int:
    """Hours in integer units of 1/HOURS_SCALE hour."""
    return round(hours * HOURS_SCALE)


# A scheduled pool (a plan `window`) is timed in whole steps of one minute: a run's duration
# is rounded up and its slot (release, due) inwards, so a schedule that holds in steps
# holds in exact hours too.
SCHEDULE_STEPS_PER_HOUR = 60


def steps_up(hours: float) -> int:
    """Hours as whole schedule steps, rounded up (a duration, a release)."""
    return math.ceil(hours * SCHEDULE_STEPS_PER_HOUR - 1e-9)


def steps_down(hours: float) -> int:
    """Hours as whole schedule steps, rounded down (a due time, a window's end)."""
    return math.floor(hours * SCHEDULE_STEPS_PER_HOUR + 1e-9)


def representable(cost: float, hours: float) -> bool:
    """Within the solver's integer range (``MAX_UNITS`` of cost and of hours); a run that
    never ends (infinite hours and cost) is not."""
    if not (math.isfinite(cost) and math.isfinite(hours)):
        return False
    return cost_units(cost) <= MAX_UNITS and hours_units(hours) <= MAX_UNITS


# ---------------------------------------------------------------- rounding
SIGNIFICANT_DIGITS = 6  # floats of a result: same plan, same bytes; within 1e-5 of exact


def round_sig(value: float) -> float:
    """A float to ``SIGNIFICANT_DIGITS`` significant digits (0.0 and non-finite kept)."""
    if value == 0 or not math.isfinite(value):
        return 0.0 if value == 0 else value
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


MONEY_DECIMALS = 2  # amounts of money are kept to the cent: what every spelling shows


def round_money(value: float) -> float:
    """An amount of money to the cent (correctly rounded, as ``money`` spells it), once."""
    return round(value, MONEY_DECIMALS) + 0.0  # + 0.0: no -0.0


# ---------------------------------------------------------------- spelling
# One spelling per kind of quantity, used by every sentence, table, comment and page:
# money "$1,234.50", prices "$1.006/h", memory "31.2 GiB", durations "3.2 h" / "6.2 d",
# latencies "35 ms", counts "250M", layouts "TP8 DP8 ZeRO-3 recompute=full".

# Currencies whose symbol is unambiguous; any other code is written after the amount.
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
GIB = 2**30
TIB = 2**40


def _with_currency(digits: str, sign: str, currency: str) -> str:
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"


def money(amount: float | None, currency: str, signed: bool = False) -> str:
    """``$1,234.50``, ``+$12.00``, ``-€3.10``, ``1,234.50 CHF``; ``-`` for no value."""
    if amount is None:
        return "-"
    sign = ""
    if signed:
        sign = "+" if amount > 0 else "-" if amount < 0 else "±"
    elif amount < 0:
        sign = "-"
    return _with_currency(f"{abs(amount):,.2f}", sign, currency)


# Periods with a name (hours): anything else is spelled as a duration ("per 14.0 d").
_PERIODS = {730.0: "month", 8760.0: "year", 2190.0: "quarter", 168.0: "week", 24.0: "day", 1.0: "hour"}


def period(hours: float) -> str:
    """A period: ``month`` (730 h), ``week``, ``day``, ``year``, ``quarter``; else ``14.0 d``."""
    return _PERIODS.get(round(hours, 6), duration(hours))


def per_period(hours: float) -> str:
    """The suffix of a rate per period: ``/month``, `` per 14.0 d``."""
    name = period(hours)
    return f"/{name}" if round(hours, 6) in _PERIODS else f" per {name}"


def the_period(hours: float) -> str:
    """The period as a span: ``one month (730 h)``, ``one week (168 h)``, ``14.0 d``."""
    if round(hours, 6) in _PERIODS:
        return f"one {period(hours)} ({plain(hours)} h)"
    return duration(hours)


def money_per(amount: float | None, currency: str, hours: float, signed: bool = False) -> str:
    """Money per period: ``$3,577.00/month``, ``+$12.00/week``, ``$80.00 per 14.0 d``."""
    if amount is None:
        return "-"
    return money(amount, currency, signed) + per_period(hours)


def price(amount: float | None, currency: str) -> str:
    """A price per GPU-hour as offered: ``$1.79/h``, ``$1.006/h`` (cents, or up to 4
    decimals when the offer has them)."""
    if amount is None:
        return "unpriced"
    digits = f"{amount:,.4f}".rstrip("0")
    if len(digits.split(".")[1]) < 2:
        digits = f"{amount:,.2f}"
    return _with_currency(digits, "", currency) + "/h"


def memory(value: float | None) -> str:
    """Bytes of memory or disk in binary units, as GPU tools report them: ``31.2 GiB``,
    ``1.5 TiB``, ``512 MiB``."""
    if value is None:
        return "-"
    if value >= TIB:
        return f"{value / TIB:.1f} TiB"
    if value >= GIB:
        return f"{value / GIB:.1f} GiB"
    return f"{value / 2**20:.0f} MiB"


def duration(hours: float | None, digits: int | None = None) -> str:
    """A run time or deadline: ``45 s``, ``12.5 min``, ``3.2 h``, ``6.2 d`` (days from 48 h);
    with ``digits``, that many significant digits (see ``apart``)."""
    if hours is None:
        return "-"
    if hours >= 48:
        value, unit = hours / 24, "d"
    elif hours >= 1:
        value, unit = hours, "h"
    elif hours * 60 >= 1:
        value, unit = hours * 60, "min"
    else:
        seconds = hours * 3600
        if digits is None:
            return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.2g} s"
        value, unit = seconds, "s"
    return f"{value:.{digits}g} {unit}" if digits is not None else f"{value:.1f} {unit}"


def apart(spell, value: float, limit: float, spell_value=None) -> tuple[str, str]:
    """A value and its limit spelled so that they differ when they do: a TPOT of 50.3 ms
    against a limit of 50 ms reads ``50.3 ms``, ``50 ms``, not ``50 ms`` twice
    (``spell_value``: the value's own spelling, e.g. ``latency_at_least``)."""
    spell_value = spell_value or spell
    a, b = spell_value(value), spell(limit)
    for digits in (3, 4, 5, 6):
        if a != b or value == limit:
            break
        a, b = spell_value(value, digits), spell(limit, digits)
    return a, b


def moment(hours: float | None) -> str:
    """A moment of a scheduled window, counted from its start (day 1, 00:00):
    ``day 1 00:00``, ``day 3 14:30`` (to the nearest minute: runs start on whole minutes)."""
    if hours is None:
        return "-"
    minutes = round(hours * 60)
    day, minute = divmod(minutes, 24 * 60)
    return f"day {day + 1} {minute // 60:02d}:{minute % 60:02d}"


def span(start: float, end: float) -> str:
    """A run in a scheduled window: ``day 1 00:00 → day 1 16:41``."""
    return f"{moment(start)} → {moment(end)}"


def latency(seconds: float | None, digits: int | None = None) -> str:
    """A latency: ``1.25 s``, ``35 ms``, ``4.2 ms``; with ``digits``, that many significant
    digits (see ``apart``)."""
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.{digits or 3}g} s"
    ms = seconds * 1000
    if digits is not None:
        return f"{ms:.{digits}g} ms"
    return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.2g} ms"


def latency_at_least(seconds: float, digits: int | None = None) -> str:
    """``latency`` of a lower bound: its digits rounded down, never up, so that what it
    reads is still a lower bound (41.96 s reads ``41.9 s``, 41.96 ms ``41 ms``)."""
    from decimal import ROUND_FLOOR, Decimal  # exact digits; rarely needed, so imported here

    exact = Decimal(seconds)
    if seconds >= 1:
        return f"{_floor_digits(exact, digits or 3):.{digits or 3}g} s"
    ms = exact * 1000
    if digits is not None:
        return f"{_floor_digits(ms, digits):.{digits}g} ms"
    if ms >= 10:
        return f"{float(ms.to_integral_value(rounding=ROUND_FLOOR)):.0f} ms"
    return f"{_floor_digits(ms, 2):.2g} ms"


def _floor_digits(exact, digits: int) -> float:
    """The largest number of ``digits`` significant digits not above the Decimal ``exact``
    (> 0), as the float nearest it (which prints as those digits)."""
    from decimal import ROUND_FLOOR

    step = type(exact)(1).scaleb(exact.adjusted() - digits + 1)
    return float(exact.quantize(step, rounding=ROUND_FLOOR))


def percent(value: float | None, signed: bool = True) -> str:
    """``+21.5%``; ``new`` when there was nothing before (no base to divide by)."""
    if value is None:
        return "new"
    sign = ("+" if value > 0 else "" if value < 0 else "±") if signed else ""
    return f"{sign}{value:.1f}%"


def count(value: int) -> str:
    """``250M`` for exact multiples of 1e3/1e6/1e9/1e12 (the language's suffixes), else ``8,192``."""
    for factor, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if value and value % factor == 0:
            return f"{value // factor}{suffix}"
    return f"{value:,}"


def plan_bytes(value: int) -> str:
    """A plan's byte quantity (a dataset) as the language writes it: ``1GB``, ``1.5TB``."""
    for factor, suffix in ((10**15, "PB"), (10**12, "TB"), (10**9, "GB"), (10**6, "MB"), (10**3, "KB")):
        if value >= factor:
            return f"{value / factor:.3g}{suffix}"
    return f"{value}B"


def plain(value: float) -> str:
    """A number as written in a plan: ``8``, ``49.99``, at most 4 decimals."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")


def n_gpus(value: int) -> str:
    """``1 GPU``, ``8 GPUs``."""
    return f"{value} GPU" if value == 1 else f"{value} GPUs"


def available(value: int | None) -> str:
    """A GPU type's availability: its count, or ``unlimited`` (the result's null)."""
    return "unlimited" if value is None else str(value)


def gpus(row) -> str:
    """``8×A100-80G``; ``-`` when the row has no GPU (a ``Row`` or a diff's side of one)."""
    if row is None or not row.gpu:
        return "-"
    return f"{row.gpu_count or 0}×{row.gpu}"


# What a row that was not placed missed, by what decided it: only a memory miss "does not
# fit"; a deadline or latency miss fits and is too slow; a shared limit left it out.
_VERDICTS = {
    "memory": "does not fit",
    "deadline": "misses the deadline",
    "latency": "misses the latency limits",
    "budget": "not placed (budget)",
    "availability": "not placed (availability)",
    "pinned": "pinned layout breaks a limit",
}


def verdict(row) -> str:
    """Why a row was not placed, in three or four words; empty for a placed row."""
    if row.fits:
        return ""
    return _VERDICTS.get(getattr(row, "decided_by", None), "not placed")


def gpus_fit(row) -> str:
    """``gpus`` followed by the verdict in brackets for a row that was not placed."""
    return gpus(row) + ("" if row.fits else f" ({verdict(row)})")


def layout(value, weights: str | None = None, serving: bool | None = None) -> str:
    """A layout as people write it in planning tables: ``TP8 SP CP2 PP4 VPP2 DP8 ZeRO-3
    shard=8 recompute=full``, a service's ``TP4 PP2 ×2 replicas int4``.

    ``value`` is a result's ``RowLayout`` (it carries its weights; training keys are None
    on a service, and on rows written before they existed) or the estimator's ``Layout``
    (give ``weights`` and ``serving``). Only what differs from the plain default is shown,
    TP always.
    """
    if value is None:
        return "-"
    weights = weights if weights is not None else getattr(value, "weights", None)
    serving = serving if serving is not None else value.dp is None
    parts = [f"TP{value.tp}"]
    if not serving and getattr(value, "sp", None):
        parts.append("SP")
    if not serving and (getattr(value, "cp", None) or 1) > 1:
        parts.append(f"CP{value.cp}")
    if value.pp > 1:
        parts.append(f"PP{value.pp}")
    if not serving and (getattr(value, "vpp", None) or 1) > 1:
        parts.append(f"VPP{value.vpp}")
    if not serving and value.dp > 1:
        parts.append(f"DP{value.dp}")
    if value.ep > 1:
        parts.append(f"EP{value.ep}")
    if serving:
        if value.replicas > 1:
            parts.append(f"×{value.replicas} replicas")
    else:
        if value.zero:
            parts.append(f"ZeRO-{value.zero}")
        if getattr(value, "shard", None):
            parts.append(f"shard={value.shard}")
        if value.offload != "none":
            parts.append(f"offload={value.offload}")
        if value.recompute != "none":
            parts.append(f"recompute={value.recompute}")
        if value.micro_batch > 1:
            parts.append(f"mb{value.micro_batch}")
    if weights:
        parts.append(weights)
    return " ".join(parts)


def scenario(value: dict | None) -> str:
    """``dataset=1GB, users=10``; empty for a row that is not a sweep variant."""
    if not value:
        return ""
    return ", ".join(f"{key}={value[key]}" for key in sorted(value))


def label(row) -> str:
    """``tune [dataset=1GB]``: the workload's name and, for a sweep variant, its scenario."""
    shown = scenario(row.scenario)
    return row.name + (f" [{shown}]" if shown else "")


# ---------------------------------------------------------------- serving
def per_second(value: float | None, what: str = "requests") -> str:
    """A throughput: ``12.5 requests/s``, ``0.42 requests/s``, ``1,234 tokens/s``."""
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f} {what}/s"
    return f"{value:.3g} {what}/s"


def share(value: float | None) -> str:
    """A share of a peak or of a capacity: ``68%``, ``0.4%``."""
    if value is None:
        return "-"
    pct = value * 100
    if pct == 0 or pct >= 0.95:
        return f"{pct:.0f}%"
    return f"{pct:.1g}%"


def load(users: int | None, rate: float | None) -> str:
    """A service's load as the plan states it: ``32 users`` or ``12.5 requests/s``."""
    if rate:
        return per_second(rate)
    return f"{count(int(users or 0))} user{'s' if users != 1 else ''}"


def latency_pair(mean: float | None, p99: float | None) -> str:
    """``35 ms (p99 52 ms)``; the mean alone where nothing was simulated."""
    return latency(mean) + (f" (p99 {latency(p99)})" if p99 is not None else "")


# ---------------------------------------------------------------- calibration
def factor(name: str, value: float) -> str:
    """A calibrated efficiency factor: ``step_overhead`` as a latency (``1.4 ms``), the
    fractions to three digits (``0.861``)."""
    if name == "step_overhead":
        return latency(value) if value > 0 else "0 ms"
    return f"{value:.3g}"


def calibration(use) -> str:
    """``"H100-SXM-vllm" (step_overhead 1.4 ms, hbm_fraction 0.861; 6 runs to 2025-06-01,
    residual 2.1%)``: which calibration a row used, and the factors of it that applied."""
    factors = ", ".join(f"{k} {factor(k, v)}" for k, v in use.factors.items())
    about = []
    if use.runs is not None:
        about.append(f"{use.runs} run{'s' if use.runs != 1 else ''}"
                     + (f" to {use.date}" if use.date else ""))
    elif use.date:
        about.append(use.date)
    if use.residual is not None:
        about.append(f"residual {use.residual * 100:.1f}%")
    return f'"{use.name}" ({factors}' + (f"; {', '.join(about)})" if about else ")")
