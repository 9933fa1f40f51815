"""Training utilities behind ``examples/``: the papers' optimiser recipe, exact-resume data order,
crash-safe checkpoints, Hub upload and model cards, checkpoint conversion, evaluation.

Import the submodules directly (``from mgm_hf.training.optim import param_groups``); nothing is
imported here, so DataLoader workers stay light.
"""
