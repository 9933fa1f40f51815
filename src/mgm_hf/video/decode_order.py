"""Which decoded frames can be reference frames of which others, read from the packets.

A motion vector's reference is a frame that was decoded before the frame it belongs to and is
marked as a reference. Frames arrive from the decoder in presentation order, so both facts come
from the packets, which arrive in decoding order: the packet's rank is its decoding order, and for
H.264 the ``nal_ref_idc`` of its first slice says whether the frame may be referenced (x264 with
B-frames leaves about half of the frames unreferenced). Knowing them halves the candidates of the
reference-distance search (:mod:`.reference_search`) without ever dropping a true reference.
Anything unknown (no timestamp, another codec, a packet layout not understood) leaves every frame a
candidate.
"""

from __future__ import annotations

import av

__all__ = ["DecodeOrder"]

_VCL = (1, 5)  # H.264 NAL unit types of coded slices (non-IDR, IDR)
_UNKNOWN = -1
_ANNEX_B_SCAN = 4096  # bytes searched for the first slice of an Annex-B packet


class DecodeOrder:
    """Records the packets of one stream (in demuxing order) and answers, per presentation
    timestamp, ``(rank, reference)``: the packet's decoding rank and 1 / 0 / -1 for a frame that
    may be referenced / may not / unknown.

    Args:
        codec_name: the decoder's name (``h264`` is read; other codecs give ``reference = -1``).
        extradata: the stream's extradata (``avcC`` gives the NAL length size; otherwise packets
            are taken as Annex-B, with start codes).
    """

    def __init__(self, codec_name: str, extradata: bytes | None) -> None:
        self._h264 = codec_name == "h264"
        self._length_size = (extradata[4] & 3) + 1 if extradata and extradata[0] == 1 and len(extradata) > 4 else 0
        self._facts: dict[int, tuple[int, int]] = {}
        self._rank = 0

    @classmethod
    def for_stream(cls, stream: av.video.stream.VideoStream) -> DecodeOrder:
        ctx = stream.codec_context
        return cls(str(ctx.name), ctx.extradata)

    def note(self, packet: av.Packet) -> None:
        """Records one demuxed packet (the empty flush packet is ignored)."""
        if packet.size == 0 or packet.pts is None:
            return
        reference = self._reference(memoryview(packet)) if self._h264 else _UNKNOWN
        self._facts[packet.pts] = (self._rank, reference)
        self._rank += 1

    def pop(self, pts: int | None) -> tuple[int, int]:
        """``(rank, reference)`` of the frame with this timestamp (``(-1, -1)`` when unknown),
        forgotten afterwards."""
        if pts is None:
            return _UNKNOWN, _UNKNOWN
        return self._facts.pop(pts, (_UNKNOWN, _UNKNOWN))

    def _reference(self, data: memoryview) -> int:
        """nal_ref_idc != 0 of the packet's first coded slice (1 / 0), or -1."""
        size, pos = len(data), 0
        if self._length_size:
            step = self._length_size
            while pos + step < size:
                header = data[pos + step]
                if header & 0x1F in _VCL:
                    return int(header & 0x60 != 0)
                pos += step + int.from_bytes(data[pos : pos + step], "big")
            return _UNKNOWN
        head = bytes(data[:_ANNEX_B_SCAN])  # Annex-B: the byte after each 00 00 01 start code
        pos = head.find(b"\x00\x00\x01")
        while 0 <= pos < len(head) - 3:
            header = head[pos + 3]
            if header & 0x1F in _VCL:
                return int(header & 0x60 != 0)
            pos = head.find(b"\x00\x00\x01", pos + 3)
        return _UNKNOWN
