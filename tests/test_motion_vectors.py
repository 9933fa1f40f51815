"""Motion vectors read back as the known motion of a real encoded video, at every frame type.

Truth comes from the synthetic video's known square positions, never from the code under test.
"""

from __future__ import annotations

import av
import numpy as np
import pytest

from mgm_hf.video import read_clip, write_moving_square_video
from mgm_hf.video.reference_search import block_partners, parsed_vectors, reference_distances
from mgm_hf.video.vector_kernels import frame_field, read_vectors

GRID = 8
TOL = 0.75  # px, median over the square's interior cells
SIZE = (128, 128)
SQUARE = 32
NUM = 40

_MV_DTYPE = np.dtype(
    [
        ("source", "i4"),
        ("w", "u1"),
        ("h", "u1"),
        ("src_x", "i2"),
        ("src_y", "i2"),
        ("dst_x", "i2"),
        ("dst_y", "i2"),
        ("flags", "u8"),
        ("motion_x", "i4"),
        ("motion_y", "i4"),
        ("motion_scale", "u2"),
    ]
)


def _frame_types(path) -> list[str]:
    with av.open(str(path)) as container:
        return ["?IPB"[int(f.pict_type)] for f in container.decode(container.streams.video[0])]


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("mv")
    # B-frames and a short GOP so I, P, B and P-after-B frames all occur (checked below).
    bframes = write_moving_square_video(
        root / "bframes.mp4",
        options={"bf": "2", "g": "12", "refs": "1", "threads": "1"},
        num_frames=NUM,
        size=SIZE,
        square_size=SQUARE,
        velocity=(3.0, 1.0),
        start=(4, 20),
    )
    # x264 defaults (3 B-frames, b-pyramid, 3 refs): references several frames away, even for P-frames.
    defaults = write_moving_square_video(
        root / "defaults.mp4",
        options={"g": "10", "threads": "1"},
        num_frames=NUM,
        size=SIZE,
        square_size=SQUARE,
        velocity=(-2.0, 1.5),
        start=(90, 8),
        seed=1,
    )
    mpeg4 = write_moving_square_video(
        root / "mpeg4.avi",
        codec="mpeg4",
        options={"g": "12", "qscale": "3"},
        num_frames=24,
        size=SIZE,
        square_size=SQUARE,
        velocity=(2.0, -1.0),
        start=(10, 80),
        seed=2,
    )
    return {"bframes": bframes, "defaults": defaults, "mpeg4": mpeg4}


def _square_median(motion_t: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Median motion over the grid cells lying fully inside the square."""
    x, y = position
    cells = motion_t[
        int(np.ceil(y / GRID)) : int((y + SQUARE) // GRID), int(np.ceil(x / GRID)) : int((x + SQUARE) // GRID)
    ]
    assert cells.size > 0
    return np.median(cells.reshape(-1, 2), axis=0)


def _errors(video, stride: int, start: int, num_frames: int) -> list[tuple[str, int, float]]:
    types = _frame_types(video.path)
    clip = read_clip(
        video.path, num_frames=num_frames, frame_stride=stride, start_frame=start, motion="motion_vectors"
    )
    assert clip.motion_source == "motion_vectors"
    assert clip.motion.shape == (num_frames, SIZE[0] // GRID, SIZE[1] // GRID, 2)
    out = []
    for t, index in enumerate(clip.frame_indices):
        truth = video.positions[index] - video.positions[index - stride]
        err = float(np.abs(_square_median(clip.motion[t], video.positions[index]) - truth).max())
        out.append((types[index], int(index), err))
    return out


def test_the_clip_contains_every_frame_type(videos):
    types = _frame_types(videos["bframes"].path)
    assert {"I", "P", "B"} <= set(types)
    assert any(types[i] == "P" and types[i - 1] == "B" for i in range(1, len(types)))
    assert types.count("I") >= 2  # an I-frame in the middle, not only the first


@pytest.mark.parametrize("name", ["bframes", "defaults"])
def test_per_frame_motion_at_every_frame_type(videos, name):
    errors = _errors(videos[name], stride=1, start=1, num_frames=NUM - 6)
    seen = {kind for kind, _, _ in errors}
    assert {"I", "P", "B"} <= seen
    bad = [e for e in errors if e[2] > TOL]
    assert not bad, bad


def test_p_frames_after_b_frames(videos):
    types = _frame_types(videos["bframes"].path)
    errors = {index: err for _, index, err in _errors(videos["bframes"], 1, 1, NUM - 6)}
    after_b = [i for i in errors if types[i] == "P" and types[i - 1] == "B"]
    assert after_b
    assert max(errors[i] for i in after_b) <= TOL


@pytest.mark.parametrize("stride", [2, 4])
@pytest.mark.parametrize("name", ["bframes", "defaults"])
def test_motion_accumulates_over_the_stride(videos, name, stride):
    errors = _errors(videos[name], stride=stride, start=stride, num_frames=7 if stride == 4 else 12)
    bad = [e for e in errors if e[2] > TOL]
    assert not bad, bad


def test_mpeg4_vectors(videos):
    errors = _errors(videos["mpeg4"], stride=1, start=1, num_frames=20)
    bad = [e for e in errors if e[2] > TOL]
    assert not bad, bad


def test_background_reads_zero(videos):
    video = videos["bframes"]
    clip = read_clip(video.path, num_frames=16, frame_stride=2, start_frame=2, motion="motion_vectors")
    for t, index in enumerate(clip.frame_indices):
        # Cells that the square covers neither now nor one stride earlier.
        covered = np.zeros(clip.motion.shape[1:3], bool)
        for i in (index, index - 2):
            x, y = video.positions[i]
            covered[
                int(y // GRID) : int((y + SQUARE) // GRID) + 1, int(x // GRID) : int((x + SQUARE) // GRID) + 1
            ] = True
        background = np.abs(clip.motion[t][~covered])
        assert np.median(background) < 0.1
        assert np.quantile(background, 0.95) < 0.5, (t, np.quantile(background, 0.95))


def test_decoding_twice_gives_identical_motion(videos):
    first = read_clip(videos["defaults"].path, 12, 2, start_frame=4, motion="motion_vectors")
    second = read_clip(videos["defaults"].path, 12, 2, start_frame=4, motion="motion_vectors")
    np.testing.assert_array_equal(first.motion, second.motion)
    np.testing.assert_array_equal(first.frames, second.frames)


def test_first_frame_motion_is_since_the_frame_before_the_clip(videos):
    video = videos["bframes"]
    clip = read_clip(video.path, 4, 3, start_frame=6, motion="motion_vectors")
    truth = video.positions[6] - video.positions[3]
    np.testing.assert_allclose(_square_median(clip.motion[0], video.positions[6]), truth, atol=TOL)
    at_zero = read_clip(video.path, 4, 3, start_frame=0, motion="motion_vectors")
    assert np.all(at_zero.motion[0] == 0)


# ------------------------------------------------------------------------------- unit level
def _vectors(rows: list[tuple]) -> np.ndarray:
    """Rows of (source, w, h, dst_x, dst_y, motion_x, motion_y) with motion_scale 4."""
    out = np.zeros(len(rows), _MV_DTYPE)
    for i, (source, w, h, dx_, dy_, mx, my) in enumerate(rows):
        out[i] = (source, w, h, dx_ + mx // 4, dy_ + my // 4, dx_, dy_, 0, mx, my, 4)
    return out


def _field(vectors, distance, frame_size, grid=8) -> np.ndarray:
    """frame_field on structured vectors with the given signed distances."""
    blocks, disp = parsed_vectors(vectors)
    height, width = frame_size
    field = np.empty((-(-height // grid), -(-width // grid), 2), np.float32)
    sums = np.zeros((*field.shape[:2], 3), np.float32)
    frame_field(blocks, disp, len(blocks), np.asarray(distance, np.int32), grid, height, width, sums, field)
    return field


def _values_field(vectors, values, frame_size, grid=8) -> np.ndarray:
    """Rasterises given per-vector values: future vectors at distance 1 carry their displacement."""
    values = np.asarray(values, np.float32)
    vectors = vectors.copy()
    vectors["source"] = 1
    vectors["motion_scale"] = 1
    vectors["motion_x"] = np.nan_to_num(values[:, 0]).astype(np.int32)
    vectors["motion_y"] = np.nan_to_num(values[:, 1]).astype(np.int32)
    assert np.array_equal(vectors["motion_x"][~np.isnan(values[:, 0])], values[~np.isnan(values[:, 0]), 0])
    return _field(vectors, np.where(np.isnan(values[:, 0]), 0, 1), frame_size, grid)


def test_rasterise_places_blocks_on_the_grid():
    vectors = _vectors([(-1, 16, 16, 8, 8, 0, 0), (-1, 8, 8, 20, 4, 0, 0), (-1, 8, 8, 28, 28, 0, 0)])
    values = np.array([[1.0, 2.0], [3.0, 4.0], [np.nan, np.nan]], np.float32)
    field = _values_field(vectors, values, (32, 32), grid=8)
    assert field.shape == (4, 4, 2)
    np.testing.assert_array_equal(field[:2, :2], np.broadcast_to([1.0, 2.0], (2, 2, 2)))
    np.testing.assert_array_equal(field[0, 2], [3.0, 4.0])
    assert np.isnan(field[3, 3]).all()  # the block without a value adds nothing
    assert np.isnan(field[1, 2]).all()


def test_rasterise_macroblocks_match_their_four_quarters():
    """A 16x16 block must equal the same block cut into 8x8 quarters, including blocks sticking out
    of a frame whose size is no multiple of 16 and blocks exported several times (averaged)."""
    rng = np.random.default_rng(3)
    frame_size = (44, 60)  # 16-px blocks in the last row and column stick out
    rows, quarters, values = [], [], []
    for _ in range(3):  # each position three times: several vectors for one block
        for by in range(0, 48, 16):
            for bx in range(0, 64, 16):
                value = rng.integers(-20, 20, size=2)
                rows.append((-1, 16, 16, bx + 8, by + 8, 0, 0))
                values.append(value)
                for qy in (0, 8):
                    for qx in (0, 8):
                        quarters.append((-1, 8, 8, bx + qx + 4, by + qy + 4, 0, 0))
    values = np.array(values, np.float32)
    values[rng.random(len(values)) < 0.2] = np.nan
    whole = _values_field(_vectors(rows), values, frame_size, grid=8)
    split = _values_field(_vectors(quarters), np.repeat(values, 4, axis=0), frame_size, grid=8)
    assert whole.shape == (6, 8, 2)
    np.testing.assert_allclose(whole, split, rtol=1e-6, atol=1e-6)
    assert np.isnan(whole).any() and not np.isnan(whole).all()
    # The mean of the three values where all three are there.
    everywhere = ~np.isnan(values.reshape(3, -1, 2)[..., 0]).any(axis=0)
    expected = values.reshape(3, -1, 2).mean(axis=0)
    cell = np.flatnonzero(everywhere)[0]
    by, bx = divmod(int(cell), 4)
    np.testing.assert_allclose(whole[2 * by, 2 * bx], expected[cell], rtol=1e-6)


def test_rasterise_on_a_coarser_and_a_finer_grid():
    vectors = _vectors([(-1, 16, 16, 8, 8, 0, 0), (-1, 8, 8, 20, 4, 0, 0)])
    values = np.array([[1.0, 0.0], [5.0, 0.0]], np.float32)
    coarse = _values_field(vectors, values, (32, 32), grid=16)
    np.testing.assert_allclose(coarse[0, 0], [1.0, 0.0])
    np.testing.assert_allclose(coarse[0, 1], [5.0, 0.0])  # an 8x8 block is one unit of its cell
    fine = _values_field(vectors, values, (32, 32), grid=4)
    np.testing.assert_allclose(fine[:4, :4, 0], 1.0)
    np.testing.assert_allclose(fine[0:2, 4:6, 0], 5.0)


def test_vector_sign_and_distance():
    # A block whose content came from 6 px to the left, 2 frames back: it moves +3 px per frame.
    # A block whose content goes 6 px to the right 2 frames ahead: also +3 px per frame.
    vectors = _vectors([(-1, 16, 16, 40, 40, -24, 0), (1, 16, 16, 8, 8, 24, 0)])
    field = _field(vectors, [-2, 2], (64, 64), grid=16)
    np.testing.assert_allclose(field[2, 2], [3.0, 0.0])
    np.testing.assert_allclose(field[0, 0], [3.0, 0.0])
    unknown = _field(vectors, [0, 2], (64, 64), grid=16)  # distance 0: unknown, no value
    assert np.isnan(unknown[2, 2]).all()


def test_reference_distance_found_by_pixels():
    rng = np.random.default_rng(0)
    base = (rng.uniform(0, 255, (64, 96))).astype(np.uint8)
    velocity = 2  # px per frame to the right
    frames = {k: np.roll(base, velocity * k, axis=1) for k in range(-4, 5)}
    # The current frame is frames[0]; a block at (48, 32) came from 3 frames back: 6 px to the left.
    vectors = _vectors([(-1, 16, 16, 48, 32, -4 * 6, 0), (1, 16, 16, 48, 32, 4 * 4, 0)])
    refs = {k: frames[k] for k in range(-4, 5) if k != 0}
    distances, sad = reference_distances(frames[0], vectors, refs, max_distance=4)
    np.testing.assert_array_equal(distances, [-3, 2])
    assert np.all(sad < 1.0)


def test_minority_reference_found_among_many_blocks():
    """Many moving blocks: the majority distance is only verified on most blocks, so the few blocks
    that use another reference must still be found by their worse match there."""
    rng = np.random.default_rng(2)
    base = rng.uniform(0, 255, (96, 128)).astype(np.uint8)
    frames = {k: np.roll(base, 2 * k, axis=1) for k in range(-4, 5)}  # 2 px per frame to the right
    rows, expected = [], []
    for i, (bx, by) in enumerate((x, y) for y in range(0, 96, 16) for x in range(16, 128, 16)):
        k = 3 if i % 7 == 3 else 2  # 6 of 42 blocks predicted from 3 frames back, the rest from 2
        rows.append((-1, 16, 16, bx + 8, by + 8, -4 * 2 * k, 0))
        expected.append(-k)
    refs = {k: frames[k] for k in (-4, -3, -2, -1)}
    distances, _ = reference_distances(frames[0], _vectors(rows), refs, max_distance=4)
    assert expected.count(-3) == 6
    np.testing.assert_array_equal(distances, expected)


def test_reference_distance_of_static_vectors_only():
    """Nothing moves: no block needs samples; zero vectors take the nearest reference."""
    rng = np.random.default_rng(1)
    frame = rng.uniform(0, 255, (32, 48)).astype(np.uint8)
    vectors = _vectors([(-1, 16, 16, 8, 8, 0, 0), (-1, 16, 16, 24, 8, 0, 0)])
    distances, sad = reference_distances(frame, vectors, {-1: frame, -2: frame}, max_distance=4)
    np.testing.assert_array_equal(distances, [-1, -1])
    assert np.all(np.isnan(sad))  # not sampled


def test_no_candidate_frame_means_unknown():
    rng = np.random.default_rng(4)
    frame = rng.uniform(0, 255, (32, 48)).astype(np.uint8)
    vectors = _vectors([(1, 16, 16, 8, 8, 8, 0), (-1, 16, 16, 24, 8, -8, 0)])
    distances, _ = reference_distances(frame, vectors, {-1: frame}, max_distance=4)
    np.testing.assert_array_equal(distances, [0, -1])  # no future frame given


def test_stale_direction_of_a_b_block_is_dropped():
    """A B block exported in both directions: a zero vector next to one that moves is the unused
    (stale) direction; two moving directions are a bi-predicted block and both stay."""
    rng = np.random.default_rng(5)
    base = rng.uniform(0, 255, (48, 64)).astype(np.uint8)
    frames = {k: np.roll(base, 3 * k, axis=1) for k in (-1, 0, 1)}  # 3 px per frame to the right
    refs = {-1: frames[-1], 1: frames[1]}
    stale = _vectors([(-1, 16, 16, 24, 24, 0, 0), (1, 16, 16, 24, 24, 12, 0)])
    distances, _ = reference_distances(frames[0], stale, refs, max_distance=2)
    np.testing.assert_array_equal(distances, [0, 1])
    bi = _vectors([(-1, 16, 16, 24, 24, -12, 0), (1, 16, 16, 24, 24, 12, 0)])
    distances, _ = reference_distances(frames[0], bi, refs, max_distance=2)
    np.testing.assert_array_equal(distances, [-1, 1])
    # Partners moving less than a pixel: the worse match is the unused direction.
    near = _vectors([(-1, 16, 16, 24, 24, 0, 0), (1, 16, 16, 24, 24, 3, 0)])  # 0 and 0.75 px
    moved = {-1: np.roll(base, -1, axis=1), 1: np.roll(base, 1, axis=1)}  # 1 px per frame
    distances, _ = reference_distances(base, near, moved, max_distance=2)
    np.testing.assert_array_equal(distances, [0, 1])
    still = {-1: base, 1: np.roll(base, 5, axis=1)}  # static since the past frame
    distances, _ = reference_distances(base, near, still, max_distance=2)
    np.testing.assert_array_equal(distances, [-1, 0])


def test_raw_side_data_parses_like_pyav(videos):
    """The compiled parser reads FFmpeg's AVMotionVector records (40 bytes each) exactly as PyAV's
    own structured array does, on every frame type of a real stream."""
    from av.sidedata.sidedata import SideDataContainer

    height, width = SIZE
    blocks = np.zeros((4096, 5), np.int32)
    disp = np.zeros((4096, 2), np.float32)
    partner = np.zeros(4096, np.int32)
    cells = np.zeros((height // 4 + 16) * (width // 4 + 16), np.int32)
    checked = 0
    with av.open(str(videos["defaults"].path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.options = {"flags2": "+export_mvs"}
        for frame in container.decode(stream):
            side = SideDataContainer(frame).get("MOTION_VECTORS")
            if side is None:
                continue
            expected = side.to_ndarray()
            n = read_vectors(np.frombuffer(bytes(side), np.uint8), height, width, blocks, disp, partner, cells)
            assert n == len(expected)
            for column, name in enumerate(("source", "w", "h", "dst_x", "dst_y")):
                np.testing.assert_array_equal(blocks[:n, column], expected[name])
            np.testing.assert_array_equal(disp[:n, 0], expected["motion_x"] / expected["motion_scale"])
            np.testing.assert_array_equal(disp[:n, 1], expected["motion_y"] / expected["motion_scale"])
            np.testing.assert_array_equal(partner[:n], block_partners(blocks[:n]))
            checked += 1
    assert checked > 20 and not cells.any()


def test_adjacent_mode_is_exact_for_one_reference_encodes(tmp_path):
    video = write_moving_square_video(
        tmp_path / "exact.mp4",
        options={"bf": "0", "refs": "1", "g": "12", "threads": "1"},
        num_frames=24,
        size=SIZE,
        square_size=SQUARE,
        velocity=(2.0, -1.0),
        start=(20, 80),
        seed=5,
    )
    clip = read_clip(video.path, 8, 2, start_frame=4, motion="motion_vectors", mv_reference="adjacent")
    for t, index in enumerate(clip.frame_indices):
        np.testing.assert_allclose(
            _square_median(clip.motion[t], video.positions[index]), (4.0, -2.0), atol=TOL
        )


def test_static_video_reads_zero_motion(tmp_path):
    """Every vector zero (nothing to search in a whole batch of frames): zero motion, no error."""
    video = write_moving_square_video(
        tmp_path / "static.mp4",
        options={"bf": "2", "g": "12", "threads": "1"},
        num_frames=24,
        size=SIZE,
        square_size=SQUARE,
        velocity=(0.0, 0.0),
        start=(40, 40),
    )
    clip = read_clip(video.path, 6, 3, start_frame=3, motion="motion_vectors")
    assert clip.motion_source == "motion_vectors"
    np.testing.assert_allclose(clip.motion, 0.0, atol=0.25)


def test_all_intra_stream_falls_back_to_flow(tmp_path):
    from mgm_hf.video import VideoReadError

    video = write_moving_square_video(
        tmp_path / "intra.mp4",
        options={"g": "1", "threads": "1"},
        num_frames=12,
        size=SIZE,
        square_size=48,
        velocity=(2.0, 0.0),
        start=(20, 40),
    )
    assert set(_frame_types(video.path)) == {"I"}
    clip = read_clip(video.path, 4, 2, start_frame=2)  # motion="auto"
    assert clip.motion_source.startswith("optical_flow")
    x, y = video.positions[clip.frame_indices[2]].astype(int)
    np.testing.assert_allclose(
        np.median(clip.motion[2, y + 12 : y + 36, x + 12 : x + 36].reshape(-1, 2), 0), (4.0, 0.0), atol=TOL
    )
    with pytest.raises(VideoReadError, match="no motion vectors"):
        read_clip(video.path, 4, 2, start_frame=2, motion="motion_vectors")


def test_compose_follows_the_content():
    from mgm_hf.video.motion_ops import compose_steps

    # An 8-px grid; a 3-cell-wide object moving 10 px per frame to the right, background still.
    steps = []
    for t in range(3):
        field = np.zeros((4, 12, 2), np.float32)
        left = 1 + (10 * (t + 1)) // 8
        field[1:3, left : left + 3, 0] = 10.0
        steps.append(field)
    total = compose_steps(steps, cell=8)
    left = 1 + 30 // 8
    np.testing.assert_allclose(total[1:3, left : left + 3, 0], 30.0)  # summed in place it would be 10-30
    assert np.all(total[0] == 0)


def test_fill_missing_uses_neighbouring_frames():
    from mgm_hf.video.motion_ops import fill_missing

    fields = {i: np.full((2, 2, 2), float(i), np.float32) for i in range(4)}
    fields[1][:] = np.nan  # an I-frame
    fields[3][0, 0] = np.nan  # an intra block at the end
    out = fill_missing(fields)
    np.testing.assert_allclose(out[1], 1.0)  # (0 + 2) / 2
    np.testing.assert_allclose(out[3][0, 0], 2.0)  # only the frame before knows it
    np.testing.assert_allclose(out[3][1, 1], 3.0)


def test_compose_chains_matches_compose_steps_chain_by_chain():
    from mgm_hf.video.motion_ops import compose_chains, compose_steps

    rng = np.random.default_rng(7)
    steps = rng.normal(scale=6.0, size=(30, 5, 7, 2)).astype(np.float16)  # float16 like MotionCache
    starts = np.array([0, 3, 8, 8, 20, 12, 25, 29])
    ends = np.array([4, 7, 12, 8, 24, 14, 29, 5])  # equal and mixed lengths, empty and backwards
    for cell in (8, 1):
        chained = compose_chains(steps, starts, ends, cell)
        assert chained.shape == (8, 5, 7, 2) and chained.dtype == np.float32
        for t, (a, b) in enumerate(zip(starts, ends)):
            if a >= b:
                np.testing.assert_array_equal(chained[t], 0.0)
            else:
                expected = compose_steps([s.astype(np.float32) for s in steps[a + 1 : b + 1]], cell)
                np.testing.assert_allclose(chained[t], expected, rtol=1e-6, atol=1e-5)


def test_kernels_are_compiled_at_import(videos):
    """Importing the package compiles (or loads) every kernel a decode calls from Python (the
    per-frame step compiles the per-vector kernels into itself) for the argument types a decode
    uses, so DataLoader workers forked afterwards never compile."""
    import subprocess
    import sys

    script = f"""
from mgm_hf.video import read_clip, frame_step as fs, vector_kernels as vk
kernels = [fs.frame_step, fs.process_waiting, vk.fill_gaps, vk.chain_fields]
before = [len(k.signatures) for k in kernels]
assert all(before), before
for reference in ("search", "adjacent"):
    read_clip({str(videos["defaults"].path)!r}, 8, 2, start_frame=4, motion="motion_vectors", mv_reference=reference)
after = [len(k.signatures) for k in kernels]
assert after == before, (before, after)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def test_unreadable_side_data_is_reported():
    """A record with motion_scale 0 cannot be turned into a displacement: the parser says so (the
    tracker raises MalformedVectors, which read_clip reports as a VideoReadError)."""
    raw = np.zeros(40, np.uint8)
    raw[4:6] = 16  # w, h; motion_scale (bytes 32-33) left 0
    blocks, disp = np.zeros((1, 5), np.int32), np.zeros((1, 2), np.float32)
    n = read_vectors(np.frombuffer(raw.tobytes(), np.uint8), 16, 16, blocks, disp, np.zeros(1, np.int32),
                     np.zeros(400, np.int32))
    assert n == -1
