"""The examples at a tiny size, their logs read back with TensorBoard's reader, and `make demo`."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins.hparams import metadata as hparams_metadata

from tests.helpers.tensorboard_reader import read_run

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "examples"))

import factorization  # noqa: E402
import large_catalogue  # noqa: E402
import label_noise  # noqa: E402
import label_smoothing  # noqa: E402
import movielens  # noqa: E402

TINY_FACTORIZATION = [
    "--users", "30", "--items", "40", "--num-ratings", "500", "--batch-size", "64",
    "--epochs", "2", "--verbose", "0",
]


def session_hparams(run_dir):
    """{name: value} of the hparams session record written into a log dir's own run."""
    _, accumulator = read_run(run_dir)
    for tag in accumulator.Tags()[event_accumulator.TENSORS]:
        if tag == hparams_metadata.SESSION_START_INFO_TAG:
            content = accumulator.SummaryMetadata(tag).plugin_data.content
            info = hparams_metadata.parse_session_start_info_plugin_data(content)
            return {
                name: value.WhichOneof("kind") and getattr(value, value.WhichOneof("kind"))
                for name, value in info.hparams.items()
            }
    return {}


# --- movielens.py: the synthetic generator and the loader --------------------------------------


def test_synthetic_ratings_are_deterministic_and_movielens_shaped():
    a = movielens.synthetic_ratings(50, 80, 1000, seed=3)
    b = movielens.synthetic_ratings(50, 80, 1000, seed=3)
    c = movielens.synthetic_ratings(50, 80, 1000, seed=4)
    np.testing.assert_array_equal(a.ratings, b.ratings)
    np.testing.assert_array_equal(a.pairs, b.pairs)
    assert not np.array_equal(a.pairs, c.pairs)
    assert len(a) == 1000 and (a.n_users, a.n_items) == (50, 80)
    assert set(np.unique(a.ratings)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert len({(u, i) for u, i in a.pairs}) == 1000          # one rating per (user, item)
    assert a.users.max() < 50 and a.items.max() < 80


def test_synthetic_outliers_sit_at_the_ends_of_the_scale():
    data = movielens.synthetic_ratings(200, 300, 20_000, outlier_share=0.05, seed=0)
    assert 0.04 < data.outlier.mean() < 0.06
    assert set(np.unique(data.ratings[data.outlier])) <= {1.0, 5.0}
    clean = movielens.synthetic_ratings(200, 300, 20_000, outlier_share=0.0, seed=0)
    assert not clean.outlier.any()


def test_split_is_seeded_and_disjoint():
    data = movielens.synthetic_ratings(40, 50, 600, seed=0)
    train, held_out = data.split(0.2, seed=1)
    assert (len(train), len(held_out)) == (480, 120)
    pairs = {tuple(p) for p in train.pairs}
    assert not pairs & {tuple(p) for p in held_out.pairs}
    assert train.n_users == data.n_users and train.n_items == data.n_items
    np.testing.assert_array_equal(data.split(0.2, seed=1)[1].pairs, held_out.pairs)


def test_load_ratings_reads_u_data(tmp_path):
    path = tmp_path / "u.data"
    path.write_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t377\t1\t878887116\n"
                    "22\t377\t5\t878887116\n")
    data = movielens.load_ratings(str(path))
    assert (len(data), data.n_users, data.n_items) == (4, 3, 3)
    np.testing.assert_array_equal(data.ratings, [3, 3, 1, 5])
    # ids renumbered 0..n-1 in increasing order: users 22, 186, 196; items 242, 302, 377
    np.testing.assert_array_equal(data.users, [2, 1, 2, 0])
    np.testing.assert_array_equal(data.items, [0, 1, 2, 2])
    assert data.ratings.dtype == np.float32 and data.users.dtype == np.int32


def test_load_ratings_reads_ratings_csv_with_half_stars(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n"
                    "5,3,0.5,964982224\n")
    data = movielens.load_ratings(str(path))
    assert (len(data), data.n_users, data.n_items) == (3, 2, 2)
    np.testing.assert_array_equal(data.ratings, [4.0, 4.5, 0.5])
    np.testing.assert_array_equal(data.users, [0, 0, 1])
    np.testing.assert_array_equal(data.items, [0, 1, 1])


def test_load_ratings_reads_movielens_1m_ratings_dat(tmp_path):
    path = tmp_path / "ratings.dat"
    path.write_text("1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n")
    data = movielens.load_ratings(str(path))
    assert (len(data), data.n_users, data.n_items) == (3, 2, 2)
    np.testing.assert_array_equal(data.ratings, [5, 3, 4])
    np.testing.assert_array_equal(data.items, [1, 0, 1])


def test_load_ratings_rejects_other_files(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello world\n")
    with pytest.raises(ValueError, match="not a MovieLens ratings file"):
        movielens.load_ratings(str(path))
    with pytest.raises(FileNotFoundError, match="missing.data"):
        movielens.load_ratings(str(tmp_path / "missing.data"))


# --- factorization.py ----------------------------------------------------------------------------


def test_factorization_logs_components_regularization_and_posthoc_metrics(tmp_path, capsys):
    logdir = tmp_path / "factorization"
    out = factorization.main(TINY_FACTORIZATION + ["--logdir", str(logdir)])

    train, _ = read_run(logdir / "train")
    validation, _ = read_run(logdir / "validation")
    posthoc, _ = read_run(logdir / "posthoc")
    assert {"loss/total", "loss/squared_error", "loss/regularization"} <= set(train)
    assert [step for step, _ in train["loss/total"]] == [0, 1]
    for (_, total), (_, error), (_, reg) in zip(
        train["loss/total"], train["loss/squared_error"], train["loss/regularization"]
    ):
        assert reg > 0
        assert total == pytest.approx(error + reg, rel=1e-4)
    assert {"loss/total", "loss/squared_error"} <= set(validation)
    assert {"metrics/rmse", "metrics/mae", "metrics/rmse_inliers", "metrics/mae_inliers"} <= set(posthoc)
    # the synthetic outliers are far off: without them the held-out errors are smaller
    assert out["posthoc"]["rmse_inliers"] < out["posthoc"]["rmse"]
    assert posthoc["metrics/rmse"][-1][1] == pytest.approx(out["posthoc"]["rmse"], rel=1e-5)
    assert out["posthoc"]["rmse"] >= out["posthoc"]["mae"] > 0

    printed = capsys.readouterr().out
    assert "loss/regularization" in printed and "rmse" in printed and "mae" in printed
    assert f"make dashboard LOGDIR={tmp_path}" in printed


@pytest.mark.parametrize("loss, component", [("rmse", "squared_error"), ("mae", "absolute_error")])
def test_factorization_other_losses_log_their_component(tmp_path, loss, component):
    logdir = tmp_path / loss
    factorization.main(TINY_FACTORIZATION + ["--epochs", "1", "--loss", loss, "--logdir", str(logdir)])
    train, _ = read_run(logdir / "train")
    assert {"loss/total", f"loss/{component}", "loss/regularization"} <= set(train)
    if loss == "rmse":   # the one non-additive loss: its value is logged beside its component
        total, error, rmse, reg = (train[f"loss/{t}"][-1][1] for t in
                                   ("total", "squared_error", "root_mean_squared_error", "regularization"))
        assert total == pytest.approx(rmse + reg, rel=1e-4)
        assert rmse == pytest.approx(np.sqrt(error), rel=0.05)   # batch roots vs root of the mean


def test_factorization_pinball_logs_its_sides_and_coverage(tmp_path, capsys):
    logdir = tmp_path / "pinball"
    factorization.main(TINY_FACTORIZATION + ["--loss", "pinball", "--tau", "0.9", "--logdir", str(logdir)])
    train, _ = read_run(logdir / "train")
    assert {"loss/under", "loss/over", "diagnostics/coverage"} <= set(train)
    assert "diagnostics/coverage" in capsys.readouterr().out


def test_factorization_ranking_variant_logs_misordered_pairs_for_train_and_validation(tmp_path):
    logdir = tmp_path / "ranking"
    out = factorization.main(TINY_FACTORIZATION + ["--loss", "pairwise_logistic", "--list-size", "4",
                                                   "--logdir", str(logdir)])
    for run in ("train", "validation"):
        logged, _ = read_run(logdir / run)
        assert {"loss/pairwise_logistic", "diagnostics/misordered_pairs"} <= set(logged)
        assert 0.0 <= logged["diagnostics/misordered_pairs"][-1][1] <= 1.0
    assert set(out["misordered_pairs"]) == {"train", "validation"}


def test_factorization_trains_on_a_ratings_file_and_replaces_old_runs(tmp_path, capsys):
    rows = movielens.synthetic_ratings(25, 30, 300, seed=1)
    path = tmp_path / "u.data"
    path.write_text("".join(f"{u + 1}\t{i + 101}\t{int(r)}\t0\n" for u, i, r in
                            zip(rows.users, rows.items, rows.ratings)))
    logdir = tmp_path / "real"
    args = ["--ratings", str(path), "--epochs", "1", "--batch-size", "64", "--verbose", "0",
            "--logdir", str(logdir)]
    factorization.main(args)
    assert "300 (" in capsys.readouterr().out
    factorization.main(args)
    assert "Replacing the previous runs" in capsys.readouterr().out
    for run in ("train", "validation", "posthoc"):
        assert len(os.listdir(logdir / run)) == 1      # one event file per run, not two


def test_factorization_help_lists_the_options():
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "examples", "factorization.py"), "--help"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0
    for option in ("--logdir", "--epochs", "--loss", "--ratings"):
        assert option in result.stdout


# --- label_smoothing.py --------------------------------------------------------------------------


def test_macro_precision_and_recall_match_scikit_learn():
    from sklearn.metrics import precision_score, recall_score

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 200)
    logits = rng.normal(size=(200, 4)).astype("float32")
    logits[np.arange(200), labels] += rng.normal(1.0, 1.0, 200).astype("float32")
    predicted = logits.argmax(axis=1)
    precision, recall = label_smoothing.macro_precision_recall()
    onehot = np.eye(4, dtype="float32")[labels]
    precision.update_state(onehot, logits)
    recall.update_state(onehot, logits)
    assert float(precision.result()) == pytest.approx(
        precision_score(labels, predicted, average="macro"), rel=1e-5)
    assert float(recall.result()) == pytest.approx(
        recall_score(labels, predicted, average="macro"), rel=1e-5)


def test_label_smoothing_writes_two_comparable_runs(tmp_path, capsys):
    logdir = tmp_path / "ls"
    out = label_smoothing.main(["--epochs", "2", "--verbose", "0", "--logdir", str(logdir)])

    assert sorted(os.listdir(logdir)) == ["ls_0.0", "ls_0.1"]
    for run, smoothing in (("ls_0.0", 0.0), ("ls_0.1", 0.1)):
        train, _ = read_run(logdir / run / "train")
        validation, accumulator = read_run(logdir / run / "validation")
        posthoc, _ = read_run(logdir / run / "posthoc")
        assert {"loss/total", "loss/cross_entropy", "entropy/mean"} <= set(train)
        assert ("loss/uniform_cross_entropy" in train) == (smoothing > 0)
        assert {"loss/total", "entropy/mean", "entropy/normalized"} <= set(validation)
        assert "entropy/per_example" in accumulator.Tags()[event_accumulator.TENSORS]
        for name in ("accuracy", "f1_macro", "precision_macro", "recall_macro", "ece"):
            values = posthoc[f"metrics/{name}"]
            assert [step for step, _ in values] == [0, 1]
            assert 0.0 <= values[-1][1] <= 1.0
            assert values[-1][1] == pytest.approx(out["runs"][run][f"post-hoc {name}"], rel=1e-5)
        hparams = session_hparams(logdir / run)
        assert hparams["label_smoothing"] == pytest.approx(smoothing)
        assert hparams["loss"] == "SparseCategoricalCrossentropy"
    printed = capsys.readouterr().out
    assert "ls_0.0" in printed and "ls_0.1" in printed and "post-hoc f1_macro" in printed


# --- large_catalogue.py --------------------------------------------------------------------------


def test_synthetic_sessions_stay_in_one_topic():
    x, y = large_catalogue.synthetic_sessions(500, n_items=1000, topic_size=10, context=3,
                                              session_length=6, seed=0)
    assert x.shape == (500, 3) and y.shape == (500,) and x.dtype == y.dtype == np.int32
    assert x.min() >= 0 and max(x.max(), y.max()) < 1000
    again = large_catalogue.synthetic_sessions(500, 1000, 10, 3, 6, seed=0)
    np.testing.assert_array_equal(again[0], x)
    catalogue = np.random.default_rng(1_000_003).permutation(1000).reshape(100, 10)
    topic_of = np.empty(1000, int)
    topic_of[catalogue] = np.arange(100)[:, None]
    assert (topic_of[x] == topic_of[y][:, None]).all()


def test_large_catalogue_tiny_run_logs_and_reports_memory_and_step_time(tmp_path, capsys):
    logdir = tmp_path / "catalogue"
    out = large_catalogue.main([
        "--items", "1000", "--topic-size", "10", "--steps-per-epoch", "3", "--batch-size", "32",
        "--held-out", "64", "--epochs", "2", "--log-every", "2", "--verbose", "0",
        "--logdir", str(logdir),
    ])
    train, _ = read_run(logdir / "train")
    validation, _ = read_run(logdir / "validation")
    posthoc, _ = read_run(logdir / "posthoc")
    assert {"loss/total", "loss/cross_entropy", "loss/uniform_cross_entropy", "loss/z_loss"} <= set(train)
    assert [step for step, _ in train["loss/total"]] == [0, 1]
    assert "batch/loss/total" in train
    assert {"entropy/mean", "entropy/normalized"} <= set(validation)
    assert "metrics/top10_accuracy" in posthoc
    assert out["step_ms"] > 0 and out["peak_rss_mib"] > 0
    printed = capsys.readouterr().out
    assert "Median training step time" in printed and "Peak memory" in printed


def test_large_catalogue_keras_baseline_logs_only_held_out_figures(tmp_path, capsys):
    logdir = tmp_path / "baseline"
    out = large_catalogue.main([
        "--items", "500", "--topic-size", "10", "--steps-per-epoch", "2", "--batch-size", "16",
        "--held-out", "16", "--epochs", "1", "--verbose", "0", "--keras-baseline",
        "--logdir", str(logdir),
    ])
    assert out["step_ms"] > 0
    assert not (logdir / "train").exists()           # no loss components without a kerasloss loss
    assert "metrics/top10_accuracy" in read_run(logdir / "posthoc")[0]
    assert "one-hot target built in the step" in capsys.readouterr().out


# --- label_noise.py ------------------------------------------------------------------------------


def test_label_noise_flips_the_asked_share_to_other_classes():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    _, _, true, _ = train_test_split(digits.data, digits.target, train_size=0.7, random_state=0,
                                     stratify=digits.target)
    _, noisy, flipped = label_noise.noisy_digits(0.3, seed=0)
    assert flipped.sum() == round(0.3 * len(true))
    np.testing.assert_array_equal(noisy != true, flipped)


def test_label_noise_standardizes_each_pixel_over_the_training_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    pixels, _ = train_test_split(digits.data / 16.0, train_size=0.7, random_state=3, stratify=digits.target)
    x, _, _ = label_noise.noisy_digits(0.1, seed=3)
    assert x.dtype == np.float32 and x.shape == pixels.shape
    spread = pixels.std(0)
    np.testing.assert_allclose(x.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(x.std(0), spread / (spread + 0.1), rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(x[:, spread == 0], 0.0)  # the constant border pixels stay 0


def test_label_noise_reports_the_suspects_and_writes_the_ledger(tmp_path, capsys):
    out = label_noise.main(["--epochs", "2", "--noise", "0.3", "--logdir", str(tmp_path)])
    figures = out["runs"]["noise_0.3"]
    assert figures["flipped"] == 377 and 0.0 <= figures["precision at k"] <= 1.0
    assert (tmp_path / "noise_0.3" / "ledger.npz").exists() and (tmp_path / "noise_0.3" / "ledger.csv").exists()
    assert "Label errors found by ExampleLedger" in capsys.readouterr().out


# --- make demo -----------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_demo_runs_end_to_end_and_prints_the_dashboard_command(tmp_path):
    command = ["make", "demo", "EPOCHS=1", f"LOGDIR={tmp_path}"]
    if not os.path.exists(os.path.join(REPO, ".venv", ".installed")):
        # Outside `make test` (which installs first): the demo recipe, on this interpreter.
        command[1:1] = ["-o", ".venv/.installed"]
        command.append(f"PY={sys.executable}")
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=170)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Final train loss components" in result.stdout
    assert "Post-hoc metrics" in result.stdout
    assert f"make dashboard LOGDIR={tmp_path}" in result.stdout
    train, _ = read_run(tmp_path / "factorization" / "train")
    assert [step for step, _ in train["loss/total"]] == [0]
