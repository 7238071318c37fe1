"""Evaluating classifiers as the paper does.

Metrics and reports (``evaluate``), agreement between experts, the consensus
and a classifier (``agreement``, the paper's Fig. 3), the expert-weighted
Dawid-Skene consensus (``dawid_skene``), static figures (``figures``) and the
bagged-tree baseline of Grasha et al. 2019 (``baseline``). Calibration of
scores (temperature scaling, ECE) is :mod:`starcnet_core.calibration`, shared
with training.
"""
