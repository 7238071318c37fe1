"""The groupings of the four LEGUS classes used in the paper's section 5.2.

Class 1 (symmetric cluster), 2 (asymmetric cluster), 3 (multi-peak compact
association), 4 (non-cluster). The paper reports, next to the four-class
problem, the binary clusters-against-the-rest split ``1+2 vs 3+4`` (also the
binary training target), ``1+2+3 vs 4`` and the three-class ``1+2 / 3 / 4``.
Training, evaluation, agreement, the figures and the web app take the
groupings and their titles from here.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["BINARY", "GROUPINGS", "GROUPING_TITLES", "GROUP_NAMES", "group_labels"]

#: Name of the paper's default binary grouping: clusters (1, 2) against non-clusters (3, 4).
BINARY = "binary_12_34"

#: name -> {class 1-4: group 1..G}; the first is :data:`BINARY`.
GROUPINGS: dict[str, dict[int, int]] = {
    BINARY: {1: 1, 2: 1, 3: 2, 4: 2},
    "binary_123_4": {1: 1, 2: 1, 3: 1, 4: 2},
    "three_12_3_4": {1: 1, 2: 1, 3: 2, 4: 3},
}

#: Titles shown in figures and pages, "four_class" included.
GROUPING_TITLES: dict[str, str] = {
    "four_class": "4 classes",
    BINARY: "1+2 vs 3+4",
    "binary_123_4": "1+2+3 vs 4",
    "three_12_3_4": "1+2 / 3 / 4",
}

#: Names of the groups 1..G of each grouping, for axis labels.
GROUP_NAMES: dict[str, tuple[str, ...]] = {
    BINARY: ("cluster (1+2)", "non-cluster (3+4)"),
    "binary_123_4": ("1+2+3", "non-cluster (4)"),
    "three_12_3_4": ("cluster (1+2)", "association (3)", "non-cluster (4)"),
}


def group_labels(classes: np.ndarray, grouping: str | Mapping[int, int] = BINARY) -> np.ndarray:
    """Classes 1-4 mapped to the groups of ``grouping`` (a name of :data:`GROUPINGS` or a mapping).

    Parameters
    ----------
    classes : numpy.ndarray
        Classes 1-4; any other value (0 for "no class") maps to 0.
    grouping : str or mapping of int to int
        Default :data:`BINARY`.

    Returns
    -------
    numpy.ndarray
        int64 groups, same shape as ``classes``.
    """
    mapping = GROUPINGS[grouping] if isinstance(grouping, str) else grouping
    lookup = np.zeros(5, dtype=np.int64)
    for cls, group in mapping.items():
        lookup[cls] = group
    classes = np.asarray(classes, dtype=np.int64)
    return np.where((classes >= 1) & (classes <= 4), lookup[np.clip(classes, 0, 4)], 0)
