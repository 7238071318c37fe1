"""Evaluating classifiers as the paper does.

Metrics and reports (``evaluate``), their static figures (``figures``) and the
bagged-tree baseline of Grasha et al. 2019 (``baseline``).
"""
