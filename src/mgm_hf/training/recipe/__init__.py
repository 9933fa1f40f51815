"""The papers' training recipe (VideoMAE / MGM appendix A / MGMAE): AdamW parameter groups, linear lr
scaling, layer-wise lr decay and cosine schedule (``optim``), stochastic depth (``drop_path``),
mixup/cutmix with label smoothing (``mixup``). Import the submodules directly."""
