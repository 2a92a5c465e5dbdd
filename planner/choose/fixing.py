"""Options no choice at or below a known objective value can take (reduced-cost fixing).

Once a choice of value ``ceiling`` is known (the first stage's answer), the tie-break stages
only look at choices of value <= ``ceiling``. An option that every such choice leaves out
can be fixed to zero before they run, and on a large fleet nearly every option can: on the
10,000-workload fleet of benchmarks/e2e.py the tie-break stage did not finish presolving
its 89,000 options in 40 s.

The proof is a Lagrangian bound (docs/solve.md, "Fixing options after the first stage").
Price each GPU type of limited availability at ``y[t] >= 0`` per GPU; for any choice that
holds the availabilities,

    value(choice) >= L(y) = sum over blocks of count * least(block, y)
                            - sum over types of y[t] * available[t]

where a block is an instance on its own (``least`` = its least ``value + y[t] * gpus``) or a
swept group, which holds the most of its variants on each type (``model.build_model``):
``least`` is then its least ``sum of variant values + sum of y[t] * M[t]`` over levels ``M``
of the priced types it uses, each variant taking an option within the levels (exact: the
least such ``M`` is the group's use). A group with too many level combinations is bounded
more loosely: each type's price is paid by one variant only (``_payers``). Fixing an option
``o`` raises its block's least by ``extra(o)``; when ``L(y) + extra(o) > ceiling``, no choice
of value <= ``ceiling`` takes ``o``. This holds for every ``y >= 0`` (good prices prune
more), so the prices are searched in floating point and the bound is then worked out in
exact fractions: the proof does not rest on rounding. The budget is left out of the
relaxation (dropping a limit keeps the bound valid); a scheduled pool is not fixed.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from fractions import Fraction

from planner.choose.greedy import Guide
from planner.choose.prepare import Inst, groups

ASCENT_ROUNDS = 3  # passes of coordinate ascent over the limited types
BISECTIONS = 40  # halvings of each price's interval per pass
MAX_LEVEL_COMBOS = 256  # level combinations a group is enumerated over, else bounded loosely

_Opt = tuple[int, str, int]  # (criterion value, GPU type, GPUs)


def _payers(variants: list[list[_Opt]]) -> list[frozenset[str]]:
    """Per variant of a group, the types whose price it pays in the loose bound: each type
    by the variant needing the most of it when it runs there (its fewest GPUs on the type,
    largest first; the first on a tie), as the group's use is at least that variant's."""
    paid: list[set[str]] = [set() for _ in variants]
    for t in sorted({g for opts in variants for _, g, _ in opts}):
        need = [(min((n for _, g, n in opts if g == t), default=-1), -k)
                for k, opts in enumerate(variants)]
        paid[-max(need)[1]].add(t)
    return [frozenset(p) for p in paid]


class _Block:
    """Instances the bound treats as one: an instance (or a class of identical ones,
    ``count``), or a swept group's variants; ``count`` identical such blocks."""

    def __init__(self, variants: list[list[_Opt]], count: int):
        self.variants = variants
        self.count = count
        self.types = frozenset(g for opts in variants for _, g, _ in opts)
        self.payers = _payers(variants) if len(variants) > 1 else [self.types]
        self._tables: dict[tuple[str, ...], list | None] = {}
        self._best_first: list[list[int]] | None = None

    def table(self, priced: frozenset[str]) -> list | None:
        """Per feasible combination of levels of the priced types this group uses: (levels,
        the variants' least values within them summed, each variant's best position);
        None for an instance alone or a group with too many combinations."""
        key = tuple(sorted(self.types & priced))
        if len(self.variants) == 1:
            return None
        if key not in self._tables:
            self._tables[key] = self._enumerate(key)
        return self._tables[key]

    def _enumerate(self, types: tuple[str, ...]) -> list | None:
        levels = [sorted({0} | {n for opts in self.variants for _, g, n in opts if g == t})
                  for t in types]
        if math.prod(len(lv) for lv in levels) > MAX_LEVEL_COMBOS:
            return None
        if self._best_first is None:  # per variant, positions by value (then position)
            self._best_first = [sorted(range(len(opts)), key=lambda p, o=opts: (o[p][0], p))
                                for opts in self.variants]
        rows = []
        for combo in itertools.product(*levels):
            cap = dict(zip(types, combo))
            picks = []
            for opts, order in zip(self.variants, self._best_first):
                # the least value within the levels: the first in value order that fits
                pick = next((p for p in order if opts[p][2] <= cap.get(opts[p][1], opts[p][2])), None)
                if pick is None:
                    break
                picks.append(pick)
            else:
                base = sum(opts[p][0] for opts, p in zip(self.variants, picks))
                rows.append((cap, base, picks))
        return rows

    def least(self, y: dict, priced: frozenset[str]) -> tuple:
        """(least value at prices ``y``, the GPUs of each priced type it then takes)."""
        rows = self.table(priced)
        if rows is not None:
            best = _best_row(rows, y)
            return _row_value(best, y), best[0]
        total, use = 0, {}
        for opts, paid in zip(self.variants, self.payers):
            r, g, n = min(((_price(o, y, paid & priced), o[1], o[2]) for o in opts),
                          key=lambda rgn: rgn[0])
            total += r
            if g in paid and g in priced:
                use[g] = use.get(g, 0) + n
        return total, use

    def picks(self, y: dict, priced: frozenset[str]) -> list[int]:
        """Per variant, the position of its option in the block's least at prices ``y``."""
        rows = self.table(priced)
        if rows is not None:
            return _best_row(rows, y)[2]
        return [min(range(len(opts)), key=lambda p: _price(opts[p], y, paid & priced))
                for opts, paid in zip(self.variants, self.payers)]

    def loss(self, y: dict, priced: frozenset[str]) -> float:
        """How much the block's least rises when it may not use the priced types."""
        least = self.least(y, priced)[0]
        rows = self.table(priced)
        if rows is not None:
            without = [base for cap, base, _ in rows if not any(cap.values())]
            return without[0] - least if without else math.inf
        total = 0
        for opts in self.variants:
            free = [v for v, g, _ in opts if g not in priced]
            if not free:
                return math.inf
            total += min(free)
        return total - least

    def extras(self, y: dict, priced: frozenset[str], low) -> list[list]:
        """Per variant and option: how much choosing it raises the block's least ``low``."""
        rows = self.table(priced)
        if rows is None:
            out = []
            for opts, paid in zip(self.variants, self.payers):
                r = [_price(o, y, paid & priced) for o in opts]
                least = min(r)
                out.append([rp - least for rp in r])
            return out
        out = []
        for k, opts in enumerate(self.variants):
            extra = []
            for v, g, n in opts:
                # the row's value with variant k's pick swapped for this option
                others = [_row_value(row, y) - opts[row[2][k]][0]
                          for row in rows if n <= row[0].get(g, n)]
                extra.append(v + min(others) - low)
            out.append(extra)
        return out


def _row_value(row: tuple, y: dict):
    """A level row's value at prices ``y``: its variants' least values and the levels' price."""
    cap, base, _ = row
    return base + sum(y[t] * m for t, m in cap.items())


def _best_row(rows: list, y: dict) -> tuple:
    """The level row of least value at prices ``y`` (the first on a tie)."""
    return min(rows, key=lambda row: _row_value(row, y))


def _price(o: _Opt, y: dict, paid: frozenset[str]):
    v, g, n = o
    return v + y[g] * n if g in paid else v


def _blocks(insts: list[Inst], criterion: str) -> tuple[list[_Block], dict[str, tuple[int, int]]]:
    """The blocks, identical ones counted once, and where each instance sits (block, variant)."""
    blocks: list[_Block] = []
    seen: dict[tuple[int, ...], int] = {}
    where: dict[str, tuple[int, int]] = {}
    for members in groups(insts).values():
        key = tuple(id(m.opts) for m in members)
        count = members[0].count if len(members) == 1 else 1
        if key in seen:
            blocks[seen[key]].count += count
        else:
            seen[key] = len(blocks)
            blocks.append(_Block([[(o.value(criterion), o.gpu, o.gpus) for o in m.opts]
                                  for m in members], count))
        for k, m in enumerate(members):
            where[m.name] = (seen[key], k)
    return blocks, where


def _use(blocks: list[_Block], y: dict, priced: frozenset[str], t: str) -> int:
    """GPUs of type ``t`` the blocks take at their least (a block without ``t`` takes none)."""
    return sum(b.count * b.least(y, priced)[1].get(t, 0) for b in blocks if t in b.types)


def _prices(blocks: list[_Block], limited: dict[str, int]) -> tuple[dict[str, float], dict[str, float]]:
    """Prices per GPU of the limited types that make ``L`` large, by coordinate ascent: ``L``
    is concave in each price, with slope the blocks' use of the type at their least minus
    its availability, so each price is bisected to the least at which that use fits.
    Also, per type, the price just below it (where the use still overfills the type): many
    identical instances switch types at the same price, so at the price itself they all
    leave the scarce type and just below it they all want it."""
    y = {t: 0.0 for t in limited}
    below = dict(y)
    top = 1.0 + max((v for b in blocks for opts in b.variants for v, _, _ in opts), default=0)
    for _ in range(ASCENT_ROUNDS):
        before = dict(y)
        for t in sorted(limited):
            priced = frozenset(s for s in limited if y[s] > 0 or s == t)
            if y[t] == 0.0 and _use(blocks, y, priced, t) <= limited[t]:
                continue  # fits at no price: any price would lower L
            lo, hi = 0.0, top  # at ``top`` only what has no other type takes ``t``
            for _ in range(BISECTIONS):
                y[t] = (lo + hi) / 2.0
                if _use(blocks, y, priced, t) > limited[t]:
                    lo = y[t]
                else:
                    hi = y[t]
            y[t], below[t] = hi, lo
        if y == before:
            break
    return y, below


class Lagrangian:
    """The bound for one problem and criterion: prices found once, the exact bound and each
    option's extra worked out once, then asked for any ``ceiling``."""

    def __init__(self, insts: list[Inst], available: dict[str, int | None], criterion: str):
        self.limited = {t: n for t, n in available.items() if n is not None}
        self.blocks, self.where = _blocks(insts, criterion)
        # per GPU, in criterion units; ``below``: what a greedy start ranks options by
        self.prices, self.below = _prices(self.blocks, self.limited)
        self._exact: tuple | None = None

    def guide(self, insts: list[Inst], members: dict[str, tuple[str, ...]]) -> Guide:
        """How a greedy start uses the bound, at the prices just below ``prices`` (many
        identical instances leave a scarce type at the same price, and just below it they
        all want it): each instance tries its option in the bound's least first, and the
        groups that lose most without the priced types go first. ``insts`` are the model's
        instances, ``members`` the instances each stands for."""
        y = self.below
        priced = frozenset(t for t in y if y[t] > 0)
        picks = [b.picks(y, priced) for b in self.blocks]
        loss = [b.loss(y, priced) for b in self.blocks]
        first, urgency = {}, {}
        for inst in insts:
            b, k = self.where[inst.name]
            for each in members[inst.name]:
                first[each] = picks[b][k]
                urgency[each] = loss[b]
        return Guide(dict(y), first, urgency)

    def _work_out(self) -> tuple:
        if self._exact is None:
            y = {t: Fraction(p) for t, p in self.prices.items()}  # exact from here on
            priced = frozenset(t for t in y if y[t] > 0)
            lows = [b.least(y, priced)[0] for b in self.blocks]
            bound = sum(b.count * low for b, low in zip(self.blocks, lows))
            bound -= sum(y[t] * self.limited[t] for t in y)
            extras = [b.extras(y, priced, low) for b, low in zip(self.blocks, lows)]
            self._exact = bound, extras
        return self._exact

    def floor(self) -> int:
        """The bound itself, rounded up (values are whole numbers): no choice holding the
        availabilities has a smaller value."""
        return math.ceil(self._work_out()[0])

    def unreachable(self, insts: list[Inst], ceiling: int) -> dict[str, tuple[int, ...]]:
        """Per instance, the positions of its options that no choice holding the
        availabilities with a total criterion value <= ``ceiling`` takes (only instances
        with some)."""
        bound, extras = self._work_out()
        gone: dict[tuple[int, int], tuple[int, ...]] = {}
        out = {}
        for inst in insts:
            b, k = self.where[inst.name]
            if (b, k) not in gone:
                gone[b, k] = tuple(p for p, e in enumerate(extras[b][k])
                                   if math.ceil(bound + e) > ceiling)  # values are whole
            if gone[b, k]:
                out[inst.name] = gone[b, k]
        return out


def without(insts: list[Inst], gone: dict[str, tuple[int, ...]]) -> tuple[list[Inst], dict[str, tuple[int, ...]]]:
    """``insts`` without the ``gone`` options (equal option tuples stay one shared tuple), and
    per instance the position among its options of each one kept."""
    shared: dict[tuple[int, tuple[int, ...]], tuple[tuple, tuple[int, ...]]] = {}
    out, kept = [], {}
    for inst in insts:
        drop = gone.get(inst.name, ())
        key = (id(inst.opts), drop)
        if key not in shared:
            keep = tuple(p for p in range(len(inst.opts)) if p not in drop)
            shared[key] = (tuple(inst.opts[p] for p in keep) if drop else inst.opts, keep)
        opts, kept[inst.name] = shared[key]
        out.append(dataclasses.replace(inst, opts=opts) if drop else inst)
    return out, kept
