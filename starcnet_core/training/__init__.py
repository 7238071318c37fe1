"""Training StarcNet.

Augmentation by reflections, rotations and zoom (``augment``), train /
validation / test splits (``splits``), the paper's training recipe (``train``),
quick fine-tuning on cached convolutional features (``finetune``), active
learning (``active_learning``) and the paper's repeated-training experiments
(``experiments``: leave one galaxy out, bootstrap by retraining).
"""
