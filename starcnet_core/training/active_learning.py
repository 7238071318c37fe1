"""Active learning: which candidates an expert should label next, and how to measure the gain.

The model's class scores say where it is unsure. :func:`uncertainty` turns
scores into one number per candidate (entropy, 1 - margin between the two
best classes, or 1 - top score) or, from several stochastic forward passes
(MC dropout, :func:`~starcnet_core.training.finetune.head_mc_probabilities`),
the BALD mutual information between the class and the network's weights,
which is high only where the passes disagree (the model does not know) and
not where they agree on an ambiguous answer (the image does not tell);
:func:`select_batch` picks the next batch to
label, either the most uncertain or at random. :func:`labelling_curve`
simulates a labelling campaign (label a batch, retrain, re-score, repeat) so
that strategies can be compared by the accuracy each reaches per label;
:func:`labels_to_reach` reads off how many labels a curve needs for a target
accuracy, :func:`label_ratios` how many an active strategy needs per
campaign relative to random labelling, and :func:`mean_curve` averages the
campaigns.

The margin is the default measure. On the first simulator it needed the fewest
labels of the measures in benchmarks/bench_active_learning.py; on the current
simulator (LEGUS-measured catalogs) no order reaches random labelling's
2,000-label accuracy before 2,000 labels on the mean of 5 campaigns, even with
the simulated truth as the oracle and the app's own retrain, with or without a
random share or diverse batches (2026-12-03, see docs/BENCHMARKS.md). Margin
leads random by 1-2 points from about 600 labels on with 5 epochs per retrain,
and by about 1 point from about 1,200 labels on with the app's 40.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from starcnet_core.scores import mutual_information, score_summaries

__all__ = [
    "UNCERTAINTY_MEASURES",
    "uncertainty",
    "select_batch",
    "labelling_curve",
    "labels_to_reach",
    "label_ratios",
    "mean_curve",
]

#: Names accepted by :func:`uncertainty`.
UNCERTAINTY_MEASURES: tuple[str, ...] = ("entropy", "margin", "least_confident", "bald")


def uncertainty(scores: np.ndarray, measure: str = "margin") -> np.ndarray:
    """How unsure the model is about each candidate; larger is more uncertain.

    Read off :func:`starcnet_core.scores.score_summaries`, the numbers the
    review queue stores and orders by.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(N, K)`` softmax class scores, or ``(S, N, K)`` from S stochastic passes
        (needed by ``bald``; the other measures use their mean).
    measure : {"entropy", "margin", "least_confident", "bald"}
        ``entropy``: Shannon entropy of the scores (nats); ``margin``: 1 minus
        the difference between the two highest scores; ``least_confident``: 1
        minus the highest score; ``bald``: entropy of the mean scores minus the
        mean entropy of the passes (nats; Houlsby et al. 2011).

    Returns
    -------
    numpy.ndarray
        ``(N,)`` float64.
    """
    if measure not in UNCERTAINTY_MEASURES:
        raise ValueError(f"unknown uncertainty measure {measure!r}; choose from {UNCERTAINTY_MEASURES}")
    scores = np.asarray(scores, dtype=np.float64)
    if measure == "bald":
        return mutual_information(scores)
    if scores.ndim == 3:
        scores = scores.mean(axis=0)
    summaries = score_summaries(scores)
    if measure == "entropy":
        return summaries["entropy"]
    if measure == "margin":
        return 1.0 - summaries["margin"]
    return 1.0 - summaries["confidence"]


def select_batch(
    scores: np.ndarray | None,
    candidates: np.ndarray,
    n: int,
    *,
    strategy: str = "margin",
    rng: np.random.Generator | None = None,
    random_share: float = 0.0,
    embedding: np.ndarray | None = None,
    preselect: int = 5,
) -> np.ndarray:
    """Choose ``n`` of ``candidates`` to label next.

    Parameters
    ----------
    scores : numpy.ndarray or None
        ``(len(candidates), K)`` class scores of the candidates, or
        ``(S, len(candidates), K)`` from S stochastic passes (needed by ``bald``);
        ignored, and may be None, for ``strategy="random"``.
    candidates : numpy.ndarray
        Indices (or ids) of the unlabelled candidates.
    n : int
        Batch size; fewer are returned when fewer candidates remain.
    strategy : str
        ``"random"`` or one of :data:`UNCERTAINTY_MEASURES` (most uncertain first).
    rng : numpy.random.Generator, optional
        For ``random`` and to break ties.
    random_share : float
        Share of the batch (0..1, rounded) drawn at random from ``candidates``;
        the rest is chosen by ``strategy`` among the others. A random share
        keeps the labels a sample of the survey's class mix, which the
        most uncertain candidates alone are not.
    embedding : numpy.ndarray, optional
        ``(len(candidates), D)`` features of the candidates (e.g. the model's
        hidden layer). When given, the uncertain part of the batch is made
        diverse as in Zhdanov (2019, "Diverse mini-batch active learning"):
        the ``preselect * m`` most uncertain candidates are clustered into
        ``m`` clusters by k-means weighted by their uncertainty, and the
        candidate nearest each centre is chosen, so that a batch does not
        spend its labels on near-copies of one hard case.
    preselect : int
        How many times the batch's uncertain part is pre-selected for clustering.

    Returns
    -------
    numpy.ndarray
        The chosen entries of ``candidates``.
    """
    candidates = np.asarray(candidates)
    rng = rng or np.random.default_rng(0)
    n = min(n, len(candidates))
    if strategy == "random":
        return rng.choice(candidates, size=n, replace=False)
    if not 0.0 <= random_share <= 1.0:
        raise ValueError(f"random_share must lie in [0, 1], not {random_share}")
    n_random = int(round(random_share * n))
    at_random = rng.choice(len(candidates), size=n_random, replace=False)
    rest = np.setdiff1d(np.arange(len(candidates)), at_random)
    # a random permutation first so that ties are broken at random, then a stable sort
    order = rest[rng.permutation(len(rest))]
    values = uncertainty(np.take(np.asarray(scores), order, axis=-2), strategy)
    ranked = np.argsort(-values, kind="stable")
    m = n - n_random
    if embedding is None or m == 0:
        chosen = order[ranked[:m]]
    else:
        top = ranked[: min(len(ranked), preselect * m)]
        chosen = order[top[_nearest_to_centres(np.asarray(embedding)[order[top]], values[top], m, rng)]]
    return candidates[np.concatenate([at_random, chosen])]


def _nearest_to_centres(
    points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator
) -> np.ndarray:
    """Positions of ``k`` distinct points of ``points``, the nearest to each centre of a weighted k-means."""
    from sklearn.cluster import KMeans

    if k >= len(points):
        return np.arange(len(points))
    points = np.asarray(points, dtype=np.float64)
    clusters = KMeans(k, n_init=1, random_state=int(rng.integers(2**31))).fit(
        points, sample_weight=np.maximum(weights, 1e-12)
    )
    distance = clusters.transform(points)  # (points, centres)
    chosen: list[int] = []
    taken = np.zeros(len(points), dtype=bool)
    for centre in range(k):
        # an empty cluster's centre may share its nearest point with another: take the next nearest free one
        nearest = np.argsort(distance[:, centre])
        pick = nearest[~taken[nearest]][0]
        taken[pick] = True
        chosen.append(int(pick))
    return np.asarray(chosen)


def labelling_curve(
    fit_predict: Callable[[np.ndarray, np.ndarray], tuple],
    oracle: np.ndarray,
    *,
    strategy: str,
    initial: int,
    batch_size: int,
    budget: int,
    seed: int = 0,
    random_share: float = 0.0,
    diverse: bool = False,
) -> list[dict]:
    """Simulate labelling a pool batch by batch, retraining after each batch.

    Parameters
    ----------
    fit_predict : callable
        ``fit_predict(labelled_index, labels) -> (scores, accuracy)`` or
        ``(scores, accuracy, embedding)``: train on pool rows
        ``labelled_index`` (the ``initial`` random draw first, then each
        batch in the order chosen) with ``labels``; return ``(pool size, K)``
        class scores for the whole pool (``(S, pool size, K)`` for ``bald``;
        may be None for ``strategy="random"``,
        which does not read them), the new model's accuracy on a fixed test
        set, either a float or a dict of measurements that holds
        ``"accuracy"`` (every entry is recorded), and, for ``diverse``, the
        ``(pool size, D)`` features the batch is made diverse in.
    oracle : numpy.ndarray
        ``(pool size,)`` the label an expert would give each pool row.
    strategy : str
        ``"random"`` or an uncertainty measure (see :func:`select_batch`).
    initial : int
        Labels drawn at random before the first fit (both strategies share them).
    batch_size : int
        Labels added per round.
    budget : int
        Stop once this many labels are used.
    seed : int
        Seed of the initial draw and of random selection.
    random_share, diverse
        The batch's random share and whether its uncertain part is made
        diverse in the returned embedding (see :func:`select_batch`).

    Returns
    -------
    list of dict
        One ``{"n_labels", "accuracy", ...}`` per round.
    """
    rng = np.random.default_rng(seed)
    pool = np.arange(len(oracle))
    labelled = rng.choice(pool, size=min(initial, len(pool)), replace=False)
    curve = []
    while True:
        scores, measured, *embedding = fit_predict(labelled, oracle[labelled])
        if not isinstance(measured, Mapping):
            measured = {"accuracy": measured}
        curve.append({"n_labels": int(len(labelled)), **{k: float(v) for k, v in measured.items()}})
        remaining = np.setdiff1d(pool, labelled)
        if len(labelled) >= budget or len(remaining) == 0:
            return curve
        step = min(batch_size, budget - len(labelled))
        if scores is None and strategy != "random":
            raise ValueError(f"strategy {strategy!r} needs the pool's scores, but fit_predict returned None")
        if diverse and strategy != "random" and not embedding:
            raise ValueError("a diverse batch needs the pool's embedding, but fit_predict returned none")
        pool_scores = None if scores is None else np.take(np.asarray(scores), remaining, axis=-2)
        pool_embedding = np.asarray(embedding[0])[remaining] if diverse and embedding else None
        chosen = select_batch(
            pool_scores,
            remaining,
            step,
            strategy=strategy,
            rng=rng,
            random_share=random_share,
            embedding=pool_embedding,
        )
        labelled = np.concatenate([labelled, chosen])


def labels_to_reach(curve: Sequence[dict], target: float, key: str = "accuracy") -> int | None:
    """The fewest labels at which ``curve`` reaches ``target`` in ``key`` (None if never)."""
    for point in curve:
        if point[key] >= target:
            return int(point["n_labels"])
    return None


def label_ratios(
    random_curves: Sequence[Sequence[dict]], active_curves: Sequence[Sequence[dict]], key: str = "accuracy"
) -> np.ndarray:
    """Per campaign: labels the active strategy needs over labels random labelling used.

    The target of each campaign is the last point of its random curve (its
    accuracy with the whole budget), and random labelling is taken to need the
    whole budget by definition.

    Parameters
    ----------
    random_curves, active_curves : sequences of curves
        One :func:`labelling_curve` per campaign, the same campaigns in the same order.
    key : str
        The measurement compared.

    Returns
    -------
    numpy.ndarray
        ``(n_campaigns,)``; ``inf`` where the active curve never reaches the
        target, so that medians and maxima stay honest.
    """
    if len(random_curves) != len(active_curves):
        raise ValueError(f"{len(random_curves)} random curves but {len(active_curves)} active ones")
    ratios = []
    for random_curve, active_curve in zip(random_curves, active_curves, strict=True):
        budget = random_curve[-1]["n_labels"]
        needed = labels_to_reach(active_curve, random_curve[-1][key], key)
        ratios.append(np.inf if needed is None else needed / budget)
    return np.asarray(ratios, dtype=np.float64)


def mean_curve(curves: Sequence[Sequence[dict]]) -> list[dict]:
    """The point-by-point mean of campaigns' curves, with the standard deviation as ``<key>_std``.

    Every curve must have the same label counts (campaigns of one budget and batch size).
    """
    counts = [[point["n_labels"] for point in curve] for curve in curves]
    if not curves or any(c != counts[0] for c in counts):
        raise ValueError("mean_curve needs at least one curve and the same label counts in every curve")
    keys = [k for k in curves[0][0] if k != "n_labels"]
    out = []
    for i, n_labels in enumerate(counts[0]):
        point: dict = {"n_labels": n_labels}
        for key in keys:
            values = np.array([curve[i][key] for curve in curves], dtype=np.float64)
            point[key], point[f"{key}_std"] = float(values.mean()), float(values.std())
        out.append(point)
    return out
