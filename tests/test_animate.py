"""``posestylizer animate``: smoothing, clip retargeting, every driving kind (video, frames, pose file), GIF and MP4
out, side by side, and every error as one line."""

from __future__ import annotations

import numpy as np
import pytest
from animation_helpers import walking_clip
from cli_helpers import failing_run
from extras_helpers import need
from PIL import Image, ImageSequence
from pipeline_helpers import small_checkpoint, street_scene

from posestylizer.cli import main
from posestylizer.data.formats import write_annotations
from posestylizer.errors import NoPersonError
from posestylizer.inference.animate import read_track, retarget_track
from posestylizer.inference.smoothing import KeypointSmoother, SmoothingOptions, smooth_track
from posestylizer.keypoints.vocab import present

FRAMES = 12


# ---------------------------------------------------------------------------------------------------- smoothing
def _still_pose(rng=None, noise=0.0):
    kp = np.stack([np.linspace(20, 180, 18), np.linspace(40, 60, 18)], axis=1)
    return kp + (rng.normal(0, noise, kp.shape) if rng is not None else 0)


def test_a_briefly_missing_joint_is_held_then_dropped_then_restarts():
    smoother = KeypointSmoother(fps=10, scale=160, options=SmoothingOptions(hold=3))
    kp = _still_pose()
    for _ in range(5):
        smoother(kp)
    gone = kp.copy()
    gone[4] = -1  # the right wrist disappears
    held = [smoother(gone) for _ in range(4)]
    assert all(np.allclose(h[4], kp[4]) for h in held[:3])  # held for `hold` frames at its last position
    assert (held[3][4] == -1).all()  # then dropped
    back = kp.copy()
    back[4] = (100, 100)
    assert np.allclose(smoother(back)[4], (100, 100))  # a returning joint restarts where it is, no lag


def test_smoothing_reduces_jitter_and_follows_motion():
    rng = np.random.default_rng(0)
    noisy = np.stack([_still_pose(rng, noise=2.0) for _ in range(60)])
    smooth = smooth_track(noisy, fps=25, scale=160)
    assert smooth[10:].std(axis=0).mean() < 0.5 * noisy[10:].std(axis=0).mean()
    # a joint moving fast (2 body heights per second) trails by less than one frame's displacement
    step = 320 / 25
    moving = np.stack([_still_pose() + (0, step * t) for t in range(40)])
    lag = np.abs(smooth_track(moving, fps=25, scale=160)[20:] - moving[20:]).max()
    assert lag < step
    # min_cutoff 0: no smoothing at all (the poses that leave are float32 pixels, the one keypoint dtype)
    noisy = noisy.astype(np.float32)
    assert np.array_equal(smooth_track(noisy, 25, 160, SmoothingOptions(min_cutoff=0)), noisy)


# ---------------------------------------------------------------------------------------------------- retargeting
def test_clip_retargeting_keeps_one_scale_and_repeats_empty_frames():
    _, truth = walking_clip(6)
    pose = next(kp for kp in truth if present(kp)[[1, 8, 10, 11, 13]].all()).astype(np.float64)
    track = np.stack([pose] * 6)
    track[2, 1, 0] += 0.3 * (pose[8, 0] - pose[1, 0])  # the driver bends: a neck lower by 30% of the torso
    track[4] = -1  # nobody in this frame
    source = np.where(present(pose)[:, None], pose * 0.25, -1)  # the same body at a quarter of the size
    poses, held = retarget_track(track, source, (64, 48))
    assert held == 1 and np.array_equal(poses[4], poses[3])
    leg = [np.hypot(*(p[8] - p[10])) for p in poses]
    # the bending frame keeps the legs of the others (per-frame torso scaling would make them 30% longer)
    assert abs(leg[2] - leg[0]) <= 1.5 and abs(leg[0] - 0.25 * np.hypot(*(pose[8] - pose[10]))) <= 1.5
    assert poses.max() < 64 and all((p[present(p)] >= 0).all() for p in poses)
    with pytest.raises(NoPersonError, match="no person found in any frame"):
        retarget_track(np.full((3, 18, 2), -1.0), source, (64, 48))


# ---------------------------------------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A source photo, a checkpoint and the walking clip as a pose CSV, a frames folder, an MP4 and a GIF."""
    root = tmp_path_factory.mktemp("animate")
    ckpt = small_checkpoint(root / "run" / "generator")
    photo, _ = street_scene([(1, 150, 330, 260)], size=(360, 300))
    Image.fromarray(photo).save(root / "source.png")
    frames, truth = walking_clip(FRAMES)
    write_annotations(root / "poses.csv", {f"frame{i}.png": kp for i, kp in enumerate(truth)})
    (root / "frames").mkdir()
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(root / "frames" / f"frame{i}.png")  # frame10 sorts after frame9
    Image.fromarray(frames[0]).save(root / "walk.gif", save_all=True, append_images=[Image.fromarray(f) for f in
                                                                                       frames[1:]], duration=100)
    (root / "empty").mkdir()
    for i in range(3):
        Image.fromarray(np.full((200, 150, 3), 90, np.uint8)).save(root / "empty" / f"{i}.png")
    (root / "broken.mp4").write_text("not a video")
    (root / "bad.csv").write_text("name:keypoints_y:keypoints_x\nf.png: [1, 2]: [3]\n")
    return root, ckpt, frames, truth


def _lookup_estimator(frames, truth):
    """An estimator that knows the clip: the ground truth of the clip frame closest to the one it is shown (a GIF
    stores frames with a 256-colour palette)."""
    stack = np.stack(frames).astype(np.int16)

    def estimate(image):
        return truth[int(np.abs(stack - np.asarray(image, np.int16)).mean(axis=(1, 2, 3)).argmin())]

    return estimate


def test_frames_folder_is_read_in_natural_order(clip):
    root, _, frames, truth = clip
    track = read_track(root / "frames", _lookup_estimator(frames, truth))
    assert track.kind == "frames" and track.fps == 12 and np.array_equal(track.keypoints, truth)
    track = read_track(root / "poses.csv", None, fps=5, max_frames=4)
    assert track.kind == "poses" and track.fps == 5 and np.array_equal(track.keypoints, truth[:4])


def test_pose_file_to_gif_renders_the_smoothed_retargeted_poses(clip, tmp_path, capsys):
    from posestylizer.inference import PoseStylizerPipeline
    from posestylizer.inference.animate import animate

    root, ckpt, _, truth = clip
    out = tmp_path / "walk.gif"
    assert main(["animate", "--checkpoint", str(ckpt), "--source", str(root / "source.png"), "--driving",
                 str(root / "poses.csv"), "--out", str(out), "--fps", "8", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out} ({FRAMES} frames, 128x256, 8 fps)" in printed and "ms/frame" in printed
    with Image.open(out) as gif:
        assert gif.n_frames == FRAMES and gif.size == (128, 256) and gif.info["duration"] == 120  # whole centiseconds

    pipe = PoseStylizerPipeline.from_pretrained(ckpt)
    anim = animate(pipe, root / "source.png", root / "poses.csv", fps=8)
    app = pipe.appearance(root / "source.png")
    smoothed = smooth_track(truth.astype(np.float64), 8, np.median(truth[:, 10, 0] - truth[:, 0, 0]))
    expected, _ = retarget_track(smoothed, app.keypoints, pipe.size)
    assert np.array_equal(anim.poses, expected)
    for i in (0, 7):  # each frame is the decoder's image of that pose, enlarged 4x (nearest)
        rendered = np.asarray(pipe.render(app, expected[i])[0])
        assert np.array_equal(anim.frames[i], rendered.repeat(4, 0).repeat(4, 1))
    assert len({f.tobytes() for f in anim.frames}) > FRAMES // 2  # the person moves


def test_video_to_side_by_side_mp4_follows_the_driver(clip, tmp_path, capsys):
    need("mediapipe")
    iio = need("imageio.v2")
    need("imageio_ffmpeg")
    root, ckpt, frames, truth = clip
    video = tmp_path / "walk.mp4"
    with iio.get_writer(str(video), format="FFMPEG", fps=8, codec="libx264", quality=9, macro_block_size=1) as w:
        for frame in frames:
            w.append_data(frame)
    out = tmp_path / "side.mp4"
    assert main(["animate", "--checkpoint", str(ckpt), "--source", str(root / "source.png"), "--driving", str(video),
                 "--out", str(out), "--side-by-side", "--quiet"]) == 0
    assert f"({FRAMES} frames," in capsys.readouterr().out
    with iio.get_reader(str(out), format="FFMPEG") as reader:
        got = [np.asarray(f) for f in reader]
        assert reader.get_meta_data()["fps"] == 8
    # driving frame (192 wide at 256 high) | gap | pose | 1 px gap x4 | generated, padded to even width
    assert len(got) == FRAMES and got[0].shape == (256, 192 * 256 // 256 + 4 + 2 * 32 * 4 + 4, 3)

    # the poses estimated on the video lie on the walking person
    from posestylizer.inference import PoseStylizerPipeline

    pipe = PoseStylizerPipeline.from_pretrained(ckpt)
    track = read_track(video, pipe.estimate)
    assert track.fps == 8 and track.keypoints.shape == (FRAMES, 18, 2)
    ok = (track.keypoints >= 0).all(-1) & (truth >= 0).all(-1)
    err = np.hypot(*(track.keypoints[ok] - truth[ok]).T)
    print(f"estimated vs drawn keypoints: {ok.sum()} pairs, median {np.median(err):.1f} px")
    assert ok.sum() > FRAMES * 10 and np.median(err) < 0.05 * 256


def test_gif_driving_clip(clip, tmp_path):
    root, _, frames, truth = clip
    track = read_track(root / "walk.gif", _lookup_estimator(frames, truth))
    with Image.open(root / "walk.gif") as gif:
        assert len(list(ImageSequence.Iterator(gif))) == FRAMES
    assert track.fps == 10 and np.array_equal(track.keypoints, truth)


ERRORS = [
    (["--driving", "{root}/nothing.mp4"], "driving video, frames folder or pose file not found"),
    (["--driving", "{root}/source.png"], "unknown driving input"),
    (["--driving", "{root}/broken.mp4"], "cannot read the video"),
    (["--driving", "{root}/bad.csv"], "bad.csv:2"),
    (["--driving", "{root}/empty"], "no person found in any frame"),
    (["--driving", "{root}/poses.csv", "--out", "{tmp}/a.avi"], "end the file name with .gif or .mp4"),
    (["--driving", "{root}/poses.csv", "--fps", "0"], "argument --fps: expected a number in (0, inf)"),
    (["--driving", "{root}/poses.csv", "--hold", "-1"], "argument --hold: expected a whole number >= 0"),
    (["--driving", "{root}/poses.csv", "--source", "{root}/missing.png"], "image not found"),
    (["--driving", "{root}/poses.csv", "--checkpoint", "{tmp}/nope"], "no such checkpoint"),
]


@pytest.mark.parametrize(("extra", "message"), ERRORS, ids=[m for _, m in ERRORS])
def test_animate_errors_are_one_line(clip, tmp_path, capsys, extra, message):
    root, ckpt, _, _ = clip
    options = {"--checkpoint": str(ckpt), "--source": str(root / "source.png"), "--out": str(tmp_path / "o" / "a.gif")}
    err = failing_run("animate", options, extra, capsys, flags=("--quiet",), root=root, tmp=tmp_path)
    assert "\n" not in err and message in err, err
    assert not (tmp_path / "o").exists()
