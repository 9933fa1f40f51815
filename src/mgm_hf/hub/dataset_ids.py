"""How a run's dataset is named in a model card: its display name and, where one exists, its Hub id.

Card metadata lists ``datasets`` as Hub dataset ids (the Hub links them). Only Something-Something V2
has a well-known one (``HuggingFaceM4/something_something_v2``); Kinetics-400, UCF101, HMDB51,
Diving48, local video folders and the built-in synthetic dataset have no official Hub copy, so
their cards leave ``datasets`` out and name the dataset in the body and in ``model-index``, whose
``dataset.type`` is then the mgm_hf loader name (``k400``, ``ucf101``...).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Loader name (mgm_hf.data.available_datasets) -> (display name, Hub dataset id or None).
_KNOWN = {
    "ssv2": ("Something-Something V2", "HuggingFaceM4/something_something_v2"),
    "k400": ("Kinetics-400", None),
    "ucf101": ("UCF101", None),
    "hmdb51": ("HMDB51", None),
    "diving48": ("Diving48", None),
}
BUILTIN_NAME = "builtin_motion"


@dataclass(frozen=True)
class CardDataset:
    """A dataset as a card names it: ``name`` (display), ``hub_id`` (None: not on the Hub) and
    ``type`` (``model-index``'s ``dataset.type``: the Hub id, else the loader name)."""

    name: str
    hub_id: str | None
    type: str

    @property
    def datasets(self) -> list[str]:
        """The card's ``datasets`` metadata: the Hub id, or nothing."""
        return [self.hub_id] if self.hub_id else []


def card_dataset(loader_name: str | None, root: str | None = None) -> CardDataset:
    """The card naming of ``--dataset_name`` (None or ``builtin``: the built-in motion dataset;
    ``videofolder``: the folder ``root``)."""
    if loader_name in (None, "builtin"):
        return CardDataset("mgm_hf built-in motion dataset (synthetic, generated locally)", None, BUILTIN_NAME)
    if loader_name in _KNOWN:
        name, hub_id = _KNOWN[loader_name]
        return CardDataset(name, hub_id, hub_id or loader_name)
    if loader_name == "videofolder" and root:
        return CardDataset(f"video folder {Path(root).name}", None, loader_name)
    return CardDataset(loader_name, None, loader_name)


__all__ = ["BUILTIN_NAME", "CardDataset", "card_dataset"]
