r"""Where to put batch norm in a CNN, and how much it helps as the net gets deeper.

The lecture's CNN experiments on CIFAR-10, scaled down to run in seconds: three networks, each
trained without batch norm and with it, before or after the ReLU, with the same optimizer, the
same learning rate and the same mini-batches; the result holds the curves (training loss and
validation accuracy per epoch) and the final test accuracy of every (model, placement, seed).

Models (torch, :mod:`course_lib.torch_impl`):

* ``"simple"`` -- :class:`~course_lib.torch_impl.cnn.SimpleCNN`, one 3x3 conv + ReLU per block,
  2x2 max pooling, a linear readout;
* ``"deep"`` -- the same blocks with two convolutions each (``convs_per_block=2``): twice the
  conv layers, as the lecture's "deeper CNN";
* ``"resnet"`` -- :class:`~course_lib.torch_impl.resnet.ResNet` (He et al. 2016), a stem and one
  basic block per stage (the lecture trains ResNet-20). Its batch norm sits where the paper puts
  it, after every convolution and before the ReLU and the residual sum: the placement ``"before"``;
  ``"after"`` is not defined for it and is skipped.

Placements: ``None`` (no normalization; the convolutions keep their biases), ``"before"``
(conv -> BN -> ReLU, Ioffe & Szegedy 2015) and ``"after"`` (conv -> ReLU -> BN).

Protocol (``dataset="digits"``, the book's size): scikit-learn's 8x8 digits, 1077 / 360 / 360,
each pixel standardized with the training set's mean and std; widths (8, 16); SGD with momentum
0.9, learning rate 0.1 for every net, batch 64, 5 epochs, float32; a seed fixes the initial
weights and the order of the mini-batches (the same for every model and placement of that seed).
"Speed" is the mean training loss over the epochs (the area under the loss curve: lower is faster);
the gain of batch norm is that mean without BN minus the mean with it.

What must show (asserted over 3 seeds in ``tests/test_experiments_bn_placement.py``): with batch
norm, at either place, every net trains faster than without; the deeper CNN gains more than the
simple one; the two placements differ far less than having batch norm or not does. (The lecture
found "before" clearly better on CIFAR-10; on the digits the two are close.)

``dataset="cifar10"`` runs the lecture's setting: CIFAR-10 (:func:`course_lib.data.load_cifar10`,
the files must be in the cache), each colour channel standardized with the training set's mean and
std, three blocks of widths (32, 64, 128) for the CNNs and ResNet-20 (widths (16, 32, 64), three
blocks per stage); see :data:`PRESETS`. It is meant for a GPU::

    python -m course_lib.experiments.bn_placement --dataset cifar10 --device cuda --epochs 30 --seeds 2 --out runs/

writes ``bn_placement.json`` (and ``bn_placement.png`` if matplotlib is installed) in ``--out``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from course_lib import checks

from ._cnn_runs import load_images, parser_with_common_options, run_from_command_line, torch_device, torch_threads

__all__ = ["PlacementRun", "BNPlacementResult", "run", "main", "MODELS", "PLACEMENTS", "PRESETS", "LABELS"]

MODELS = ("simple", "deep", "resnet")
PLACEMENTS = (None, "before", "after")
LABELS = {None: "no BN", "before": "BN before ReLU", "after": "BN after ReLU"}
"""How the figure and the table name each placement."""

PRESETS: dict[str, dict[str, Any]] = {
    "digits": dict(widths=(8, 16), resnet_widths=(8, 16), resnet_blocks=1, epochs=5, lr=0.1, momentum=0.9,
                   batch_size=64, weight_decay=0.0, max_eval=None),
    "cifar10": dict(widths=(32, 64, 128), resnet_widths=(16, 32, 64), resnet_blocks=3, epochs=30, lr=0.05,
                    momentum=0.9, batch_size=128, weight_decay=5e-4, max_eval=2000),
}
"""Default architecture and optimizer per data set (``run``'s keyword arguments override them).
``max_eval``: the accuracies after each epoch use a fixed subset of that many training and validation
images (None: all of them); the final test accuracy always uses the whole test set."""


@dataclass(frozen=True, eq=False)
class PlacementRun:
    """One trained net: curves per epoch and the final test accuracy."""

    model: str  # "simple", "deep" or "resnet"
    placement: str | None  # None, "before" or "after"
    seed: int
    train_loss: np.ndarray  # (epochs,) mean training loss of each epoch's mini-batches
    val_acc: np.ndarray  # (epochs,) validation accuracy after each epoch (eval mode)
    test_acc: float  # test accuracy after the last epoch (eval mode)
    num_params: int
    seconds: float  # wall time of the training (machine-dependent; never asserted)

    @property
    def mean_loss(self) -> float:
        """Mean of :attr:`train_loss` over the epochs: the area under the loss curve (lower = faster)."""
        return float(np.mean(self.train_loss))


@dataclass(frozen=True, eq=False)
class BNPlacementResult:
    models: tuple  # model names, in order
    placements: tuple  # placements asked for (None = no batch norm)
    seeds: tuple
    dataset: str
    runs: dict  # (model, placement, seed) -> PlacementRun
    config: dict

    def placements_of(self, model: str) -> tuple:
        """The placements that were run for ``model`` (the ResNet has no "after")."""
        return tuple(p for p in self.placements if (model, p, self.seeds[0]) in self.runs)

    def curves(self, model: str, placement: str | None, which: str = "train_loss") -> np.ndarray:
        """(seeds, epochs): ``which`` = ``"train_loss"`` or ``"val_acc"`` of every seed."""
        return np.array([getattr(self.runs[model, placement, s], which) for s in self.seeds])

    def mean_loss(self, model: str, placement: str | None) -> np.ndarray:
        """(seeds,) mean training loss over the epochs (lower = trained faster)."""
        return np.array([self.runs[model, placement, s].mean_loss for s in self.seeds])

    def gain(self, model: str, placement: str) -> np.ndarray:
        """(seeds,) what batch norm saves: mean loss without it minus mean loss with it (same seed)."""
        return self.mean_loss(model, None) - self.mean_loss(model, placement)

    def best_gain(self, model: str) -> np.ndarray:
        """(seeds,) the gain of the better placement of each seed."""
        return np.max([self.gain(model, p) for p in self.placements_of(model) if p is not None], axis=0)

    def test_acc(self, model: str, placement: str | None) -> np.ndarray:
        """(seeds,) final test accuracy."""
        return np.array([self.runs[model, placement, s].test_acc for s in self.seeds])

    def table(self) -> str:
        """One line per (model, placement): mean over the seeds of the mean training loss, the last
        epoch's training loss, the last validation accuracy and the test accuracy."""
        lines = [f"{self.dataset}, {len(self.seeds)} seed(s), {self.config['epochs']} epochs, lr {self.config['lr']}",
                 f"{'model':<8}{'placement':<16}{'params':>8}{'mean loss':>11}{'last loss':>11}"
                 f"{'val acc':>9}{'test acc':>10}"]
        for model in self.models:
            for p in self.placements_of(model):
                runs = [self.runs[model, p, s] for s in self.seeds]
                lines.append(
                    f"{model:<8}{LABELS[p]:<16}{runs[0].num_params:>8}{np.mean([r.mean_loss for r in runs]):>11.4f}"
                    f"{np.mean([r.train_loss[-1] for r in runs]):>11.4f}"
                    f"{np.mean([r.val_acc[-1] for r in runs]):>9.1%}{np.mean([r.test_acc for r in runs]):>10.1%}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """Plain JSON-able numbers (placement None is written ``"none"``)."""
        return {
            "dataset": self.dataset, "models": list(self.models), "seeds": list(self.seeds),
            "placements": [p or "none" for p in self.placements],
            "config": {k: list(v) if isinstance(v, tuple) else v for k, v in self.config.items()},
            "runs": [{"model": r.model, "placement": r.placement or "none", "seed": r.seed,
                      "train_loss": r.train_loss.tolist(), "val_acc": r.val_acc.tolist(), "test_acc": r.test_acc,
                      "num_params": r.num_params, "seconds": r.seconds} for r in self.runs.values()],
        }


# ----- models -------------------------------------------------------------------------------------
def _make(model: str, placement: str | None, shape: tuple, n_classes: int, cfg: dict, seed: int, device: Any):
    import torch

    from course_lib.torch_impl.cnn import SimpleCNN
    from course_lib.torch_impl.resnet import ResNet

    norm = None if placement is None else "batch"
    if model == "resnet":
        return ResNet(shape[0], shape[1:], n_classes, widths=cfg["resnet_widths"],
                      blocks_per_stage=cfg["resnet_blocks"], norm=norm, rng=seed, device=device, dtype=torch.float32)
    return SimpleCNN(shape[0], shape[1:], n_classes, channels=cfg["widths"], rng=seed,
                     convs_per_block=2 if model == "deep" else 1, norm=norm, norm_position=placement or "before",
                     device=device, dtype=torch.float32)


# ----- the experiment -----------------------------------------------------------------------------
def run(models: Any = MODELS, placements: Any = PLACEMENTS, dataset: str = "digits", device: Any = "cpu",
        epochs: int | None = None, seeds: Any = (0,), lr: float | None = None, batch_size: int | None = None,
        widths: Any = None, data_seed: int = 0, root: Any = None, threads: int | None = 1,
        progress: bool = True) -> BNPlacementResult:
    """Train every (model, placement, seed) with the torch :class:`~course_lib.torch_impl.solver.Solver`.

    ``models`` among :data:`MODELS`; ``placements`` among :data:`PLACEMENTS` (None = no BN);
    ``dataset`` ``"digits"`` or ``"cifar10"`` (its defaults in :data:`PRESETS`; ``epochs``, ``lr``,
    ``batch_size`` and ``widths``, the CNNs' channels, override them); ``device`` ``"cpu"`` or
    ``"cuda"`` (an error if there is no GPU); ``threads``: torch threads on the CPU (1 is fastest
    for the digits' tiny tensors; None leaves torch's default).
    """
    who = "bn_placement.run"
    if dataset not in PRESETS:
        raise ValueError(f"{who}: dataset must be one of {sorted(PRESETS)}, got {dataset!r}")
    models, placements, seeds = tuple(models), tuple(placements), tuple(seeds)
    bad = [m for m in models if m not in MODELS]
    if bad or not models:
        raise ValueError(f"{who}: models must be a non-empty subset of {MODELS}, got {models!r}")
    bad = [p for p in placements if p not in PLACEMENTS]
    if bad or not placements:
        raise ValueError(f"{who}: placements must be a non-empty subset of {PLACEMENTS}, got {placements!r}")
    if not seeds:
        raise ValueError(f"{who}: seeds must hold at least one seed")
    seeds = tuple(checks.integer(s, "seeds", who, minimum=0) for s in seeds)
    cfg = dict(PRESETS[dataset])
    if epochs is not None:
        cfg["epochs"] = checks.integer(epochs, "epochs", who, minimum=1)
    if lr is not None:
        cfg["lr"] = checks.real(lr, "lr", who, minimum=0, exclusive_minimum=True)
    if batch_size is not None:
        cfg["batch_size"] = checks.integer(batch_size, "batch_size", who, minimum=2)
    if widths is not None:
        cfg["widths"] = tuple(checks.integer(w, "widths", who, minimum=1) for w in widths)
    if threads is not None:
        threads = checks.integer(threads, "threads", who, minimum=1)
    dev = torch_device(device, "bn_placement")

    import torch

    from course_lib.scratch.solver import progress_bar
    from course_lib.torch_impl.solver import Solver

    arrays, shape, n_classes = load_images(dataset, data_seed, root, "bn_placement")
    combos = [(m, p, s) for m in models for p in placements for s in seeds if not (m == "resnet" and p == "after")]
    if not combos:
        raise ValueError(f"{who}: nothing to run (the ResNet has no 'after' placement)")
    runs = {}
    bar = progress_bar(len(combos), progress, desc="bn placement")
    with torch_threads(threads if dev.type == "cpu" else None):
        for model_name, placement, seed in combos:
            bar.set_postfix_str(f"{model_name}, {LABELS[placement]}, seed {seed}")
            model = _make(model_name, placement, shape, n_classes, cfg, seed, dev)
            optimizer = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"],
                                        weight_decay=cfg["weight_decay"])
            solver = Solver(model, arrays, optimizer, batch_size=cfg["batch_size"], epochs=cfg["epochs"], seed=seed,
                            progress=False, max_eval=cfg["max_eval"])
            start = time.perf_counter()
            history = solver.train()
            seconds = time.perf_counter() - start
            model.eval()
            x_test = torch.as_tensor(arrays["x_test"], device=dev)
            y_test = torch.as_tensor(arrays["y_test"], device=dev)
            correct = sum(int((model.predict(x_test[i:i + 1000]) == y_test[i:i + 1000]).sum())
                          for i in range(0, len(y_test), 1000))  # in chunks: CIFAR's 10000 at once is heavy
            test_acc = correct / len(y_test)
            loss = np.reshape(np.asarray(history.loss, dtype=float), (cfg["epochs"], history.steps_per_epoch))
            runs[model_name, placement, seed] = PlacementRun(
                model=model_name, placement=placement, seed=seed, train_loss=loss.mean(axis=1),
                val_acc=np.asarray(history.val_acc, dtype=float), test_acc=test_acc, num_params=model.num_params,
                seconds=seconds)
            bar.update(1)
    bar.close()
    config = dict(cfg, dataset=dataset, device=str(dev), seeds=seeds, data_seed=data_seed, optimizer="SGD",
                  dtype="float32")
    return BNPlacementResult(models=models, placements=placements, seeds=seeds, dataset=dataset, runs=runs,
                             config=config)


# ----- command line -------------------------------------------------------------------------------
def main(argv: Any = None) -> BNPlacementResult:
    """``python -m course_lib.experiments.bn_placement [--dataset D] [--device D] [--epochs N] [--seeds K]
    [--out DIR]``: runs seeds 0..K-1, prints the table, writes ``DIR/bn_placement.json`` (and the figure)."""
    parser = parser_with_common_options("bn_placement", "Batch-norm placement in three CNNs (simple, deeper, ResNet).",
                                        PRESETS)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--out", default=None, help="directory for bn_placement.json and bn_placement.png")
    parser.add_argument("--root", default=None, help="data cache directory (CIFAR-10)")

    def run_args(args):
        return run(models=args.models, dataset=args.dataset, device=args.device, epochs=args.epochs,
                   seeds=range(args.seeds), lr=args.lr, root=args.root, threads=1 if args.dataset == "digits" else None)

    return run_from_command_line(parser, argv, run_args, "bn_placement",
                                 ("course_lib.plotting.bn_placement", "plot_bn_placement"))


if __name__ == "__main__":  # pragma: no cover
    main()
