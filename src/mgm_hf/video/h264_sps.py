"""Reading an H.264 stream's sequence parameter set (SPS) from the container's ``extradata``, to tell
whether its motion vectors are exact per-frame motion.

A stream whose SPS allows one reference frame (``max_num_ref_frames == 1``) and no reordering
(picture order count type 2, or ``max_num_reorder_frames == 0`` in the VUI) predicts every inter
block from the one frame decoded just before it, which is also the frame shown just before it:
every vector spans exactly one frame and no reference-distance search is needed (this is what
``mgm-hf prepare --exact_motion`` writes: x264 with ``bf=0, refs=1``, which uses POC type 2). PyAV's
codec context exposes ``has_b_frames`` but not the number of reference frames, hence this parser.
Anything it cannot read (no extradata, other codecs, an SPS it does not understand) is reported as
not exact, so the search runs: never a silently different result.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SequenceParameters", "exact_motion_stream", "parse_sps", "sps_from_extradata"]

_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})


@dataclass(frozen=True)
class SequenceParameters:
    """The SPS fields that decide whether vectors span one frame."""

    profile_idc: int
    pic_order_cnt_type: int
    max_num_ref_frames: int
    max_num_reorder_frames: int | None  # None: the VUI does not say

    @property
    def one_reference_in_order(self) -> bool:
        """One reference frame and output order = decoding order."""
        in_order = self.pic_order_cnt_type == 2 or self.max_num_reorder_frames == 0
        return self.max_num_ref_frames == 1 and in_order


class _Bits:
    """An MSB-first bit reader over an RBSP (emulation-prevention bytes removed)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def bit(self) -> int:
        if self.pos >= 8 * len(self.data):
            raise ValueError("SPS ends early")
        value = (self.data[self.pos >> 3] >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return value

    def bits(self, count: int) -> int:
        value = 0
        for _ in range(count):
            value = (value << 1) | self.bit()
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad exp-Golomb code in the SPS")
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self) -> int:
        code = self.ue()
        return (code + 1) // 2 if code & 1 else -(code // 2)


def _rbsp(nal: bytes) -> bytes:
    """Removes emulation-prevention bytes (``00 00 03`` -> ``00 00``)."""
    out, zeros = bytearray(), 0
    for byte in nal:
        if zeros >= 2 and byte == 3:
            zeros = 0
            continue
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def _scaling_list(bits: _Bits, size: int) -> None:
    last, next_ = 8, 8
    for _ in range(size):
        if next_ != 0:
            next_ = (last + bits.se() + 256) % 256
        last = next_ if next_ != 0 else last


def _hrd(bits: _Bits) -> None:
    count = bits.ue() + 1
    bits.bits(8)  # bit_rate_scale, cpb_size_scale
    for _ in range(count):
        bits.ue()
        bits.ue()
        bits.bit()
    bits.bits(20)  # four 5-bit lengths


def _reorder_frames(bits: _Bits) -> int | None:
    """Walks the VUI up to ``max_num_reorder_frames`` (None when there is no bitstream restriction)."""
    if bits.bit() and bits.bits(8) == 255:  # aspect_ratio_info_present_flag, aspect_ratio_idc
        bits.bits(32)
    if bits.bit():  # overscan_info_present_flag
        bits.bit()
    if bits.bit():  # video_signal_type_present_flag
        bits.bits(4)
        if bits.bit():
            bits.bits(24)
    if bits.bit():  # chroma_loc_info_present_flag
        bits.ue()
        bits.ue()
    if bits.bit():  # timing_info_present_flag
        bits.bits(65)
    nal_hrd = bits.bit()
    if nal_hrd:
        _hrd(bits)
    vcl_hrd = bits.bit()
    if vcl_hrd:
        _hrd(bits)
    if nal_hrd or vcl_hrd:
        bits.bit()  # low_delay_hrd_flag
    bits.bit()  # pic_struct_present_flag
    if not bits.bit():  # bitstream_restriction_flag
        return None
    bits.bit()
    for _ in range(4):
        bits.ue()
    return bits.ue()


def parse_sps(nal: bytes) -> SequenceParameters:
    """Parses an SPS NAL unit (header byte included); raises ValueError when it cannot."""
    if not nal or nal[0] & 0x1F != 7:
        raise ValueError("not an SPS NAL unit")
    bits = _Bits(_rbsp(nal[1:]))
    profile_idc = bits.bits(8)
    bits.bits(16)  # constraint flags, level_idc
    bits.ue()  # seq_parameter_set_id
    if profile_idc in _HIGH_PROFILES:
        chroma_format_idc = bits.ue()
        if chroma_format_idc == 3:
            bits.bit()
        bits.ue()
        bits.ue()
        bits.bit()
        if bits.bit():  # seq_scaling_matrix_present_flag
            for i in range(12 if chroma_format_idc == 3 else 8):
                if bits.bit():
                    _scaling_list(bits, 16 if i < 6 else 64)
    bits.ue()  # log2_max_frame_num_minus4
    poc_type = bits.ue()
    if poc_type == 0:
        bits.ue()
    elif poc_type == 1:
        bits.bit()
        bits.se()
        bits.se()
        for _ in range(bits.ue()):
            bits.se()
    max_num_ref_frames = bits.ue()
    bits.bit()  # gaps_in_frame_num_value_allowed_flag
    bits.ue()
    bits.ue()
    if not bits.bit():  # frame_mbs_only_flag
        bits.bit()
    bits.bit()  # direct_8x8_inference_flag
    if bits.bit():  # frame_cropping_flag
        for _ in range(4):
            bits.ue()
    reorder = _reorder_frames(bits) if bits.bit() else None
    return SequenceParameters(profile_idc, poc_type, max_num_ref_frames, reorder)


def _annex_b_units(data: bytes) -> list[bytes]:
    units, start = [], None
    i = 0
    while i + 3 <= len(data):
        if data[i : i + 3] == b"\x00\x00\x01":
            if start is not None:
                units.append(data[start:i].rstrip(b"\x00"))
            start = i + 3
            i += 3
        else:
            i += 1
    if start is not None:
        units.append(data[start:])
    return units


def sps_from_extradata(extradata: bytes | None) -> list[bytes]:
    """The SPS NAL units in an ``avcC`` record (MP4/MKV) or Annex-B extradata (empty when none)."""
    if not extradata:
        return []
    if extradata[0] == 1 and len(extradata) >= 8:  # avcC: version 1
        count, pos, out = extradata[5] & 0x1F, 6, []
        for _ in range(count):
            size = int.from_bytes(extradata[pos : pos + 2], "big")
            out.append(bytes(extradata[pos + 2 : pos + 2 + size]))
            pos += 2 + size
        return [nal for nal in out if nal and nal[0] & 0x1F == 7]
    return [nal for nal in _annex_b_units(bytes(extradata)) if nal and nal[0] & 0x1F == 7]


def exact_motion_stream(codec_name: str, extradata: bytes | None) -> bool:
    """True when every motion vector of the stream spans exactly one frame (see the module
    docstring): an H.264 stream whose every SPS allows one reference frame and no reordering."""
    if codec_name != "h264":
        return False
    units = sps_from_extradata(extradata)
    try:
        return bool(units) and all(parse_sps(nal).one_reference_in_order for nal in units)
    except ValueError:
        return False
