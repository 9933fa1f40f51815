"""How a training run is executed, saved and resumed: the Accelerator (``accelerator``), the scripts'
argument groups (``args``), the step/epoch/warm-up plan and where a run starts (``plan``), crash-safe
checkpoints (``checkpointing``), resuming with true records (``resume``), one run per output folder
(``output_dir``), ``--model_name_or_path`` checks (``model_source``), experiment trackers
(``trackers``), periodic pictures (``pictures``) and the closing report (``summary``). Import the
submodules directly."""
