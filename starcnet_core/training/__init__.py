"""Training StarcNet.

Augmentation by reflections, rotations and zoom (``augment``), train /
validation / test splits (``splits``), the paper's training recipe (``train``),
quick fine-tuning on cached convolutional features (``finetune``) and active
learning (``active_learning``).
"""
