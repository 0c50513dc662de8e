"""The protocol's label metrics (../shared/docs/EVALUATION.md), pure functions of the results:
tested on hand-made catalogues, shared by the evaluation, the experiments and the shopper
photos."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

K = 10


@dataclass(frozen=True)
class Truth:
    article: str
    colour: str


@dataclass(frozen=True)
class QueryResult:
    query: int  # product id
    results: list[int]  # product ids, best first
    seconds: float


@dataclass(frozen=True)
class TaskScore:
    p10_article: float
    p10_article_colour: float
    ndcg10: float
    coverage: float
    latency_ms_median: float
    latency_ms_p95: float
    queries: int

    def as_dict(self) -> dict:
        return asdict(self)


def score(results: Sequence[QueryResult], truths: dict[int, Truth], *, k: int = K) -> TaskScore:
    """The protocol's metrics for one task. ``truths`` covers the whole catalogue.

    Precision divides by ``k`` even when a list is shorter: a missing result is a miss.
    nDCG's ideal is the best list the catalogue allows for that query (itself excluded); a
    query with no peer of its article type scores 0 (nothing right could be shown).
    """
    if not results:
        raise ValueError("no queries to score")
    pairs = Counter((t.article, t.colour) for t in truths.values())
    articles = Counter(t.article for t in truths.values())
    article_hits = colour_hits = 0
    ndcgs, seconds, shown = [], [], set()
    for result in results:
        query = truths[result.query]
        top = result.results[:k]
        gains = [_gain(query, truths[pid]) for pid in top]
        article_hits += sum(gain >= 1 for gain in gains)
        colour_hits += sum(gain == 2 for gain in gains)
        # What the catalogue could have offered, the query itself excluded (as _gain counts).
        peers = articles[query.article] - 1 if query.article else 0
        same_pair = pairs[(query.article, query.colour)] - 1 if peers and query.colour else 0
        same_article = peers - same_pair
        ideal = ([2] * same_pair + [1] * same_article + [0] * k)[:k]
        ideal_dcg = _dcg(ideal)
        ndcgs.append(_dcg(gains) / ideal_dcg if ideal_dcg else 0.0)
        seconds.append(result.seconds)
        shown.update(top)
    n = len(results)
    ms = sorted(1000 * s for s in seconds)
    return TaskScore(
        p10_article=article_hits / (k * n),
        p10_article_colour=colour_hits / (k * n),
        ndcg10=statistics.fmean(ndcgs),
        coverage=len(shown) / len(truths),
        latency_ms_median=statistics.median(ms),
        latency_ms_p95=ms[min(n - 1, math.ceil(0.95 * n) - 1)],
        queries=n,
    )


def _gain(query: Truth, other: Truth) -> int:
    """Unknown (blank) article types or colours never match, not even each other."""
    if not query.article or other.article != query.article:
        return 0
    return 2 if query.colour and other.colour == query.colour else 1


def _dcg(gains: Sequence[int]) -> float:
    return sum(gain / math.log2(rank + 2) for rank, gain in enumerate(gains))
