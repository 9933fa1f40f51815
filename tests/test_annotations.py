"""Annotation parsers on fixtures in each dataset's real format, pointing to real (tiny) videos."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import datasets
import numpy as np
import pytest

from mgm_hf.data import (
    AnnotationError,
    ParsedAnnotations,
    available_datasets,
    load_video_dataset,
    register_dataset_parser,
)
from mgm_hf.video.synthetic import write_video


@pytest.fixture(scope="module")
def tiny_videos(tmp_path_factory) -> dict[str, Path]:
    """One real 4-frame 32×32 video per container; tests copy them to the names a dataset expects."""
    folder = tmp_path_factory.mktemp("tiny")
    frames = np.random.default_rng(0).integers(0, 255, (4, 32, 32, 3), dtype=np.uint8)
    return {
        ".mp4": write_video(folder / "a.mp4", frames),
        ".avi": write_video(folder / "a.avi", frames, codec="mpeg4"),
        ".webm": write_video(folder / "a.webm", frames, codec="libvpx-vp9", options={"deadline": "realtime"}),
    }


def put(tiny: dict[str, Path], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tiny[path.suffix], path)
    return path


def names(ds: datasets.Dataset) -> list[str]:
    return [ds.features["label"].int2str(i) for i in ds["label"]]


# ------------------------------------------------------------------------------------------- ssv2
def write_ssv2(root: Path, tiny, missing: bool = False) -> None:
    labels = {"Holding something next to something": "0", "Pushing something from left to right": "1"}
    (root / "labels").mkdir(parents=True)
    (root / "labels" / "labels.json").write_text(json.dumps(labels, indent=1))
    train = [
        {"id": "78687", "label": "holding potato next to vicks vaporub bottle",
         "template": "Holding [something] next to [something]", "placeholders": ["potato", "vicks vaporub bottle"]},
        {"id": "42326", "label": "pushing a cup from left to right",
         "template": "Pushing [something] from left to right", "placeholders": ["a cup"]},
        {"id": "100904", "label": "holding a pen next to a mug",
         "template": "Holding [something] next to [something]", "placeholders": ["a pen", "a mug"]},
    ]
    # The official files put one record per line inside the array.
    text = "[\n" + ",\n".join(json.dumps(r) for r in train) + "\n]\n"
    (root / "labels" / "train.json").write_text(text)
    (root / "labels" / "test.json").write_text(json.dumps([{"id": "5"}]))
    for record in train[: 2 if missing else 3]:
        put(tiny, root / "20bn-something-something-v2" / f"{record['id']}.webm")
    put(tiny, root / "20bn-something-something-v2" / "5.webm")


def test_ssv2(tmp_path, tiny_videos):
    write_ssv2(tmp_path, tiny_videos)
    ds = load_video_dataset("ssv2", tmp_path, "train")
    assert ds.column_names == ["path", "label"]
    assert isinstance(ds.features["label"], datasets.ClassLabel)
    assert ds.features["label"].names == ["Holding something next to something", "Pushing something from left to right"]
    assert ds["label"] == [0, 1, 0]
    assert [Path(p).name for p in ds["path"]] == ["78687.webm", "42326.webm", "100904.webm"]
    test = load_video_dataset("ssv2", tmp_path, "test")
    assert test["label"] == [-1]


def test_ssv2_missing_video_reported_with_line(tmp_path, tiny_videos):
    write_ssv2(tmp_path, tiny_videos, missing=True)
    with pytest.raises(AnnotationError, match=r"train\.json:4: video '100904\.webm' not found") as info:
        load_video_dataset("ssv2", tmp_path, "train")
    assert [(Path(i.file).name, i.line) for i in info.value.issues] == [("train.json", 4)]
    ds = load_video_dataset("ssv2", tmp_path, "train", on_missing="skip")
    assert len(ds) == 2


def test_ssv2_finds_transcoded_mp4(tmp_path, tiny_videos):
    write_ssv2(tmp_path, tiny_videos)
    videos = tmp_path / "20bn-something-something-v2"
    for webm in videos.glob("*.webm"):
        webm.unlink()
        put(tiny_videos, webm.with_suffix(".mp4"))
    ds = load_video_dataset("ssv2", tmp_path, "train")
    assert all(p.endswith(".mp4") for p in ds["path"])


# ------------------------------------------------------------------------------------------- k400
def test_k400(tmp_path, tiny_videos):
    ann = tmp_path / "annotations"
    ann.mkdir()
    rows = {
        "train": [("abseiling", "--07WQ2iBlw", 1, 11), ("air drumming", "-0AvbyTV2dk", 23, 33),
                  ("passing American football (in game)", "x_2Hyb2yrUQ", 0, 10)],
        "val": [("air drumming", "zzz-AvbyTV2", 100, 110), ("abseiling", "missing_one", 5, 15)],
    }
    for split, items in rows.items():
        with open(ann / f"{split}.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["label", "youtube_id", "time_start", "time_end", "split", "is_cc"])
            for label, yid, start, end in items:
                writer.writerow([label, yid, start, end, split, 0])
                if yid != "missing_one":
                    put(tiny_videos, tmp_path / split / f"{yid}_{start:06d}_{end:06d}.mp4")
    ds = load_video_dataset("k400", tmp_path, "train")
    assert ds.features["label"].names == ["abseiling", "air drumming", "passing American football (in game)"]
    assert ds["label"] == [0, 1, 2]
    assert Path(ds["path"][0]).name == "--07WQ2iBlw_000001_000011.mp4"
    with pytest.raises(AnnotationError, match=r"val\.csv:3: video 'missing_one_000005_000015\.mp4'"):
        load_video_dataset("k400", tmp_path, "validation")
    val = load_video_dataset("k400", tmp_path, "val", on_missing="skip")
    assert names(val) == ["air drumming"]  # class ids come from train.csv
    # The test csv has no label column.
    (ann / "test.csv").write_text("youtube_id,time_start,time_end,split\n--07WQ2iBlw,1,11,test\n")
    put(tiny_videos, tmp_path / "test" / "--07WQ2iBlw_000001_000011.mp4")
    assert load_video_dataset("k400", tmp_path, "test")["label"] == [-1]


# ----------------------------------------------------------------------------------------- ucf101
def test_ucf101(tmp_path, tiny_videos):
    lists = tmp_path / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 ApplyEyeMakeup\r\n2 HandStandPushups\r\n3 YoYo\r\n")
    train = ["ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1", "HandstandPushups/v_HandStandPushups_g08_c01.avi 2",
             "YoYo/v_YoYo_g08_c01.avi 3"]
    test = ["ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi", "HandstandPushups/v_HandStandPushups_g01_c01.avi",
            "YoYo/v_YoYo_g01_c01.avi"]
    (lists / "trainlist01.txt").write_text("\r\n".join(train) + "\r\n")
    (lists / "testlist01.txt").write_text("\r\n".join(test) + "\r\n")
    for line in train + test[:2]:
        put(tiny_videos, tmp_path / "UCF-101" / line.split()[0])
    ds = load_video_dataset("ucf101", tmp_path, "train")
    assert ds.features["label"].names == ["ApplyEyeMakeup", "HandStandPushups", "YoYo"]
    assert ds["label"] == [0, 1, 2]
    with pytest.raises(AnnotationError, match=r"testlist01\.txt:3: video 'YoYo/v_YoYo_g01_c01\.avi' not found"):
        load_video_dataset("ucf101", tmp_path, "test")
    test_ds = load_video_dataset("ucf101", tmp_path, "test", on_missing="skip")
    assert test_ds["label"] == [0, 1]  # labels from the folder, case-insensitive


# ----------------------------------------------------------------------------------------- hmdb51
def test_hmdb51(tmp_path, tiny_videos):
    splits = tmp_path / "testTrainMulti_7030_splits"
    splits.mkdir()
    content = {
        "brush_hair": ["April_09_brush_hair_u_nm_np1_ba_goo_0.avi 1 ", "Blonde_being_brushed_brush_hair_f_nm_np2_ri_med_0.avi 2 ",
                       "Brushing_my_waist_lenth_hair_brush_hair_u_nm_np1_ba_goo_0.avi 0 "],
        "wave": ["20060723sfjffbartsinger_wave_f_cm_np1_ba_med_0.avi 2 ", "21_wave_u_nm_np1_fr_goo_5.avi 1 "],
    }
    for cls, lines in content.items():
        (splits / f"{cls}_test_split1.txt").write_text("\n".join(lines) + "\n")
        (splits / f"{cls}_test_split2.txt").write_text(lines[0].replace(" 1 ", " 2 ") + "\n")
        for line in lines:
            put(tiny_videos, tmp_path / "hmdb51" / cls / line.split()[0])
    train = load_video_dataset("hmdb51", tmp_path, "train")
    assert train.features["label"].names == ["brush_hair", "wave"]
    assert [Path(p).name for p in train["path"]] == ["April_09_brush_hair_u_nm_np1_ba_goo_0.avi", "21_wave_u_nm_np1_fr_goo_5.avi"]
    assert train["label"] == [0, 1]
    assert load_video_dataset("hmdb51", tmp_path, "test")["label"] == [0, 1]
    assert len(load_video_dataset("hmdb51", tmp_path, "test", fold=2)) == 2
    (tmp_path / "hmdb51" / "wave" / "21_wave_u_nm_np1_fr_goo_5.avi").unlink()
    with pytest.raises(AnnotationError, match=r"wave_test_split1\.txt:2: video 'wave/21_wave_u_nm_np1_fr_goo_5\.avi'"):
        load_video_dataset("hmdb51", tmp_path, "train")


# --------------------------------------------------------------------------------------- diving48
def test_diving48(tmp_path, tiny_videos):
    vocab = [["Back", "15som", "05Twis", "FREE"], ["Back", "15som", "15Twis", "FREE"], ["Back", "2som", "NoTwis", "PIKE"]]
    (tmp_path / "Diving48_vocab.json").write_text(json.dumps(vocab))
    train = [{"vid_name": "-mmq0PT-u8k_00155", "label": 2, "start_frame": 0, "end_frame": 76},
             {"vid_name": "-mmq0PT-u8k_00156", "label": 0, "start_frame": 0, "end_frame": 90}]
    (tmp_path / "Diving48_V2_train.json").write_text(json.dumps(train, indent=4))
    (tmp_path / "Diving48_V2_test.json").write_text(json.dumps([{"vid_name": "abc", "label": 7}]))
    for record in train:
        put(tiny_videos, tmp_path / "rgb" / f"{record['vid_name']}.mp4")
    ds = load_video_dataset("diving48", tmp_path, "train")
    assert ds.features["label"].names[2] == "Back 2som NoTwis PIKE"
    assert ds["label"] == [2, 0]
    # indent=4: the second record starts on line 8.
    (tmp_path / "rgb" / "-mmq0PT-u8k_00156.mp4").unlink()
    with pytest.raises(AnnotationError, match=r"Diving48_V2_train\.json:8: video '-mmq0PT-u8k_00156\.mp4'"):
        load_video_dataset("diving48", tmp_path, "train")
    with pytest.raises(AnnotationError, match=r"Diving48_V2_test\.json:1: label 7 outside the 3 classes"):
        load_video_dataset("diving48", tmp_path, "test")


# ------------------------------------------------------------------------------------ videofolder
def test_videofolder_any_extension_and_single_class(tmp_path, tiny_videos):
    put(tiny_videos, tmp_path / "train" / "jump" / "a.webm")
    put(tiny_videos, tmp_path / "train" / "jump" / "b.mp4")
    put(tiny_videos, tmp_path / "train" / "run" / "c.avi")
    put(tiny_videos, tmp_path / "validation" / "run" / "d.mp4")  # validation has one class folder
    (tmp_path / "train" / "run" / "notes.txt").write_text("not a video")
    train = load_video_dataset("videofolder", tmp_path, "train")
    assert [Path(p).name for p in train["path"]] == ["a.webm", "b.mp4", "c.avi"]
    assert names(train) == ["jump", "jump", "run"]
    val = load_video_dataset("videofolder", tmp_path, "validation")
    assert val.features["label"].names == ["jump", "run"] and names(val) == ["run"]
    with pytest.raises(FileNotFoundError, match="no split folder 'test'"):
        load_video_dataset("videofolder", tmp_path, "test")


def test_videofolder_whole_folder(tmp_path, tiny_videos):
    put(tiny_videos, tmp_path / "only_class" / "x.webm")
    ds = load_video_dataset("videofolder", tmp_path, "train")
    assert ds.features["label"].names == ["only_class"] and ds["label"] == [0]


# ------------------------------------------------------------------------------------- registry
def test_register_custom_parser(tmp_path, tiny_videos):
    video = put(tiny_videos, tmp_path / "clip.mp4")

    def parse_mine(root, split, *, on_missing="error"):
        return ParsedAnnotations([str(video)], [1], ["no", "yes"])

    register_dataset_parser("test_mine", parse_mine)
    assert "test_mine" in available_datasets()
    ds = load_video_dataset("test_mine", tmp_path, "train")
    assert names(ds) == ["yes"]
    with pytest.raises(ValueError, match="already registered"):
        register_dataset_parser("test_mine", parse_mine)
    with pytest.raises(ValueError, match="Unknown dataset 'nope'"):
        load_video_dataset("nope", tmp_path)
    assert {"diving48", "hmdb51", "k400", "ssv2", "ucf101", "videofolder"} <= set(available_datasets())


def test_malformed_line_is_an_error_with_line(tmp_path, tiny_videos):
    lists = tmp_path / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 A\n2 B\n")
    (lists / "trainlist01.txt").write_text("A/x.avi 1\nB/y.avi 9\n")
    with pytest.raises(AnnotationError, match=r"trainlist01\.txt:2: bad class id '9'"):
        load_video_dataset("ucf101", tmp_path, "train")
