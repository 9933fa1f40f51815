"""The token geometry a mask lives on: frames, image size, tubelet and patch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MaskGeometry:
    """Input geometry of a VideoMAE-style tokeniser.

    A clip of ``num_frames`` frames of ``image_size`` = (H, W) pixels is cut into tokens of
    ``tubelet_size`` frames × ``patch_size`` × ``patch_size`` pixels. Tokens are ordered as
    VideoMAE's Conv3d patch embedding flattens them: ``index = t * (h * w) + y * w + x`` over the
    token grid (T', h, w) = (num_frames // tubelet_size, H // patch_size, W // patch_size).
    """

    num_frames: int
    image_size: tuple[int, int]
    patch_size: int
    tubelet_size: int

    def __post_init__(self) -> None:
        if isinstance(self.image_size, int):
            object.__setattr__(self, "image_size", (self.image_size, self.image_size))
        else:
            object.__setattr__(self, "image_size", tuple(int(s) for s in self.image_size))
        height, width = self.image_size
        if min(self.num_frames, height, width, self.patch_size, self.tubelet_size) <= 0:
            raise ValueError(f"All sizes must be positive, got {self}.")
        if height % self.patch_size or width % self.patch_size:
            raise ValueError(
                f"image_size {self.image_size} is not divisible by patch_size {self.patch_size}; "
                f"pick an image size that is a multiple of {self.patch_size}."
            )
        if self.num_frames % self.tubelet_size:
            raise ValueError(
                f"num_frames {self.num_frames} is not divisible by tubelet_size {self.tubelet_size}; "
                f"pick a frame count that is a multiple of {self.tubelet_size}."
            )

    @property
    def token_grid(self) -> tuple[int, int, int]:
        """(T', h, w): tubelets over time, patches down, patches across."""
        height, width = self.image_size
        return (self.num_frames // self.tubelet_size, height // self.patch_size, width // self.patch_size)

    @property
    def tokens_per_frame(self) -> int:
        _, h, w = self.token_grid
        return h * w

    @property
    def seq_length(self) -> int:
        """L, the number of tokens of one clip."""
        t, h, w = self.token_grid
        return t * h * w

    @classmethod
    def from_config(cls, config) -> MaskGeometry:
        """Reads the geometry off a ``VideoMAEConfig``-like object."""
        return cls(
            num_frames=config.num_frames,
            image_size=config.image_size,
            patch_size=config.patch_size,
            tubelet_size=config.tubelet_size,
        )
