"""Training code behind ``examples/``, by purpose:

* :mod:`~mgm_hf.training.recipe`: what the papers prescribe: AdamW groups and lr scaling
  (``optim``), stochastic depth (``drop_path``), mixup/cutmix (``mixup``);
* :mod:`~mgm_hf.training.runtime`: how a run is executed: the Accelerator (``accelerator``), argument
  groups (``args``), the step/epoch/warm-up plan and resume start (``plan``), crash-safe checkpoints
  (``checkpointing``), resuming (``resume``), one run per output folder (``output_dir``), trackers,
  pictures, model-source checks and the closing report (``summary``);
* :mod:`~mgm_hf.training.classifier_eval`: top-k and multi-view evaluation of a classifier;
* ``data`` / ``sampling``: the scripts' DataLoaders and the seeded data order of exact resume.

Hub upload and model cards are in :mod:`mgm_hf.hub`; official-checkpoint conversion and the
pretrained→classifier transfer are with the models (:mod:`mgm_hf.models.conversion`,
:mod:`mgm_hf.models.transfer`). Nothing below ``training/`` (video, masking, data, models,
visualization) imports it.

Import the submodules directly (``from mgm_hf.training.recipe.optim import param_groups``); nothing is
imported here, so DataLoader workers stay light.
"""
