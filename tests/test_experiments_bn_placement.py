"""Every claim of the section "Where to put batch norm in a CNN" (book/07_batchnorm_fixes.md), asserted
as orderings and relations over three seeds of the book's own configuration (the book runs two of them
and glues their values; these tests never assert a machine's digits: training amplifies rounding, and
the orderings hold with margins far above it).

The book's configuration is ``bn_placement.run(seeds=...)`` with the defaults: digits, widths (8, 16),
SGD with momentum 0.9 at learning rate 0.1, batch 64, five epochs, float32.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.figure import Figure

from course_lib import plotting
from course_lib.experiments import bn_placement

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def book():
    """The book's configuration over three seeds (about ten seconds on a quiet machine)."""
    return bn_placement.run(seeds=SEEDS, progress=False)


def test_book_run_is_complete(book):
    assert book.models == ("simple", "deep", "resnet") and book.placements == (None, "before", "after")
    assert book.placements_of("resnet") == (None, "before")  # the ResNet has BN where the paper puts it
    assert len(book.runs) == 8 * len(SEEDS)
    for r in book.runs.values():
        assert r.train_loss.shape == r.val_acc.shape == (book.config["epochs"],)
        assert np.all(np.isfinite(r.train_loss)) and 0.0 <= r.test_acc <= 1.0
    # same nets with and without BN: batch norm adds 2 numbers (gamma, beta) per channel of every conv
    simple = {p: book.runs["simple", p, 0].num_params for p in book.placements}
    assert simple["before"] == simple["after"] == simple[None] + 2 * (8 + 16)


@pytest.mark.parametrize("model", ["simple", "deep", "resnet"])
def test_batch_norm_speeds_up_every_net(book, model):
    """'Batch norm speeds up every network. Its mean training loss over the five epochs falls from
    {fix_place_simple_none} to {fix_place_simple_before} (before the ReLU) or {fix_place_simple_after}
    (after it) for the simple CNN, ... The test accuracy follows: {fix_place_acc_simple_none} to
    {fix_place_acc_simple_bn}, ...' -- for every seed and placement; test accuracy on the seeds' mean."""
    for p in book.placements_of(model):
        if p is None:
            continue
        assert np.all(book.gain(model, p) > 0.1), (model, p, book.gain(model, p))
        assert book.test_acc(model, p).mean() > book.test_acc(model, None).mean() + 0.02


def test_the_deeper_cnn_gains_more(book):
    """'The deeper nets gain more. Averaged over the two placements, batch norm saves the simple CNN
    {fix_place_gain_simple} of mean loss and the deeper CNN {fix_place_gain_deep}, about
    {fix_place_ratio} times as much' -- for both placements, on the seeds' mean, by a wide margin."""
    for p in ("before", "after"):
        assert book.gain("deep", p).mean() > 1.3 * book.gain("simple", p).mean()


def test_the_resnet_gains_more_than_the_simple_cnn(book):
    """'the ResNet, the deepest of the three, gains {fix_place_gain_resnet}, also more than the simple CNN.'"""
    assert book.gain("resnet", "before").mean() > 1.3 * book.gain("simple", "before").mean()


def test_depth_hurts_without_batch_norm_and_helps_with_it(book):
    """'Without batch norm the extra convolutions make the deeper CNN train *more slowly* than the
    simple one; with it, the deeper CNN ends lower (a last-epoch loss of {fix_place_last_deep} against
    {fix_place_last_simple}).'"""
    assert book.mean_loss("deep", None).mean() > book.mean_loss("simple", None).mean()
    for p in ("before", "after"):
        last = {m: book.curves(m, p)[:, -1].mean() for m in ("simple", "deep")}
        assert last["deep"] < last["simple"]


def test_placement_matters_less_than_having_batch_norm(book):
    """'The placement matters far less than having batch norm at all. The gains of the two placements
    differ by {fix_place_diff_simple} for the simple CNN and {fix_place_diff_deep} for the deeper one, a
    small fraction of the gains themselves.'"""
    for model in ("simple", "deep"):
        before, after = book.gain(model, "before").mean(), book.gain(model, "after").mean()
        assert abs(before - after) < 0.3 * min(before, after)


def test_a_smaller_learning_rate_shrinks_the_resnets_gap(book):
    """'With a smaller learning rate, 0.03, the gap between the two ResNets shrinks to less than half
    (the test suite checks this over three seeds)'."""
    slow = bn_placement.run(models=("resnet",), placements=(None, "before"), lr=0.03, seeds=SEEDS, progress=False)
    assert slow.gain("resnet", "before").mean() < 0.5 * book.gain("resnet", "before").mean()


def test_the_figures(book):
    assert isinstance(plotting.plot_bn_placement(book), Figure)
    assert isinstance(plotting.plot_bn_gain(book), Figure)


# ----- the function itself -------------------------------------------------------------------------
def test_small_run_and_table():
    result = bn_placement.run(models=("simple",), placements=(None, "after"), epochs=1, progress=False)
    assert set(result.runs) == {("simple", None, 0), ("simple", "after", 0)}
    assert "BN after ReLU" in result.table() and "no BN" in result.table()
    data = json.loads(json.dumps(result.to_dict()))
    assert [r["placement"] for r in data["runs"]] == ["none", "after"]


def test_seeded():
    a, b = (bn_placement.run(models=("simple",), placements=("before",), epochs=1, progress=False)
            for _ in range(2))
    np.testing.assert_array_equal(a.runs["simple", "before", 0].train_loss, b.runs["simple", "before", 0].train_loss)


def test_command_line_writes_json_and_figure(tmp_path, capsys):
    bn_placement.main(["--epochs", "1", "--models", "simple", "--out", str(tmp_path)])
    data = json.loads((tmp_path / "bn_placement.json").read_text())
    assert data["dataset"] == "digits" and len(data["runs"]) == 3
    assert (tmp_path / "bn_placement.png").stat().st_size > 0
    assert "simple" in capsys.readouterr().out


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"models": ("vgg",)}, "models"),
        ({"models": ()}, "models"),
        ({"placements": ("middle",)}, "placements"),
        ({"dataset": "mnist"}, "dataset"),
        ({"epochs": 0}, "epochs"),
        ({"lr": -1.0}, "lr"),
        ({"seeds": ()}, "seeds"),
        ({"models": ("resnet",), "placements": ("after",)}, "nothing to run"),
    ],
)
def test_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        bn_placement.run(progress=False, **kwargs)


def test_cifar10_without_the_files_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="CIFAR-10"):
        bn_placement.run(dataset="cifar10", root=tmp_path, progress=False)


def test_cuda_without_a_gpu_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="cuda"):
        bn_placement.run(device="cuda", progress=False)


def test_the_cifar10_path_on_a_stand_in(monkeypatch):
    """The CIFAR-10 protocol's code path (per-channel standardization, 3x32x32 images, ResNet-20) on a
    tiny random stand-in for the archive: one epoch of 48 images, so the real run cannot fail on shapes."""
    import course_lib.data
    from course_lib.data import Splits

    def fake_cifar10(root=None, *, seed=0, download=True, **kwargs):
        rng = np.random.default_rng(seed)
        images = lambda n: rng.random((n, 3, 32, 32), dtype=np.float32)  # noqa: E731
        return Splits(x_train=images(48), y_train=np.arange(48) % 10, x_val=images(20), y_val=np.arange(20) % 10,
                      x_test=images(20), y_test=np.arange(20) % 10, classes=tuple("abcdefghij"), name="stand-in")

    monkeypatch.setattr(course_lib.data, "load_cifar10", fake_cifar10)
    result = bn_placement.run(dataset="cifar10", models=("simple", "resnet"), placements=(None, "before"), epochs=1,
                              batch_size=16, progress=False)
    assert result.runs["resnet", "before", 0].num_params > 250_000  # ResNet-20 has about 0.27 million
    assert all(np.isfinite(r.train_loss).all() for r in result.runs.values())
    assert result.config["widths"] == (32, 64, 128) and result.config["resnet_blocks"] == 3
