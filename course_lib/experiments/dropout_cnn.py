r"""Dropout in the CNNs of the batch-norm chapters: regularization, and underfitting when p is too high.

The lecture's deck "Effect of batch normalization and dropout" trains a simple CNN and a deeper one
on CIFAR-10 with and without dropout and reports (1) with dropout the training loss is higher but
the validation loss and accuracy are better, and (2) with too high a drop probability the deeper
net underfits. This module repeats the protocol with the torch
:class:`~course_lib.torch_impl.cnn.SimpleCNN` and its ``dropout`` option (inverted dropout on the
inputs of the Linear layers: the flattened maps and a hidden layer) and, optionally,
``block_dropout`` (on every block's output maps).

Models: ``"simple"`` (one 3x3 conv + ReLU per block, 2x2 pooling) and ``"deep"`` (two convs per
block), each with a hidden Linear + ReLU layer before the readout, where dropout acts.

Protocol (``dataset="digits"``, the book's size): the 8x8 digits standardized, 1077 / 360 / 360;
widths (16, 32), hidden 256; SGD momentum 0.9, lr 0.01, batch 32, ``epochs`` = 12; float32; the
same initial weights and batches for every p of a seed. Recorded per epoch: the training loss (the
mean over the epoch's mini-batches, WITH dropout, as the deck plots it), and the validation loss
and accuracy (eval mode); and the final test accuracy.

``dataset="cifar10"`` (files in the data cache; a GPU advised)::

    python -m course_lib.experiments.dropout_cnn --dataset cifar10 --device cuda --epochs 30 --seeds 2 --out runs/

What must show on the digits (tests, over seeds): the training loss with dropout 0.3 is higher than
without; with p = 0.7 the nets fit the training set far worse than without (underfitting).
Whether dropout improves the validation accuracy on the small digits set is reported, not assumed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from course_lib import checks
from course_lib.scratch.dropout import check_p

from ._cnn_runs import load_images, parser_with_common_options, run_from_command_line, torch_device, torch_threads

__all__ = ["DropoutCNNRun", "DropoutCNNResult", "run", "main", "MODELS", "PRESETS"]

MODELS = ("simple", "deep")

PRESETS: dict[str, dict[str, Any]] = {
    "digits": dict(widths=(16, 32), hidden=256, epochs=12, lr=0.01, momentum=0.9, batch_size=32, weight_decay=0.0,
                   max_eval=None),
    "cifar10": dict(widths=(32, 64, 128), hidden=256, epochs=30, lr=0.05, momentum=0.9, batch_size=128,
                    weight_decay=0.0, max_eval=2000),
}
"""Defaults per data set (``run``'s keyword arguments override them)."""


@dataclass(frozen=True, eq=False)
class DropoutCNNRun:
    model: str
    p: float  # drop probability of the Linear layers' inputs
    block_p: float  # drop probability of the blocks' output maps
    seed: int
    train_loss: np.ndarray  # (epochs,) mean training mini-batch loss (with dropout)
    val_loss: np.ndarray  # (epochs,) validation loss, eval mode
    val_acc: np.ndarray  # (epochs,)
    train_acc: np.ndarray  # (epochs,) eval mode
    test_acc: float
    seconds: float  # wall time (never asserted)


@dataclass(frozen=True, eq=False)
class DropoutCNNResult:
    models: tuple
    ps: tuple
    seeds: tuple
    dataset: str
    runs: dict  # (model, p, seed) -> DropoutCNNRun
    config: dict

    def curve(self, model: str, p: float, which: str) -> np.ndarray:
        """(seeds, epochs) of ``which`` in train_loss, val_loss, val_acc, train_acc."""
        return np.array([getattr(self.runs[model, p, s], which) for s in self.seeds])

    def final(self, model: str, p: float, which: str) -> np.ndarray:
        """(seeds,) the last epoch's ``which`` (or ``"test_acc"``)."""
        if which == "test_acc":
            return np.array([self.runs[model, p, s].test_acc for s in self.seeds])
        return self.curve(model, p, which)[:, -1]

    def best_val_loss(self, model: str, p: float) -> np.ndarray:
        """(seeds,) the lowest validation loss over the epochs."""
        return self.curve(model, p, "val_loss").min(axis=1)

    def table(self) -> str:
        lines = [f"{self.dataset}, {len(self.seeds)} seed(s), {self.config['epochs']} epochs",
                 f"{'model':<8}{'p':>6}{'train loss':>12}{'val loss':>10}{'best val':>10}{'train acc':>11}"
                 f"{'val acc':>9}{'test acc':>10}"]
        for m in self.models:
            for p in self.ps:
                lines.append(f"{m:<8}{p:>6.2f}{self.final(m, p, 'train_loss').mean():>12.4f}"
                             f"{self.final(m, p, 'val_loss').mean():>10.4f}{self.best_val_loss(m, p).mean():>10.4f}"
                             f"{self.final(m, p, 'train_acc').mean():>11.1%}{self.final(m, p, 'val_acc').mean():>9.1%}"
                             f"{self.final(m, p, 'test_acc').mean():>10.1%}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "models": list(self.models), "ps": list(self.ps), "seeds": list(self.seeds),
                "config": {k: list(v) if isinstance(v, tuple) else v for k, v in self.config.items()},
                "runs": [{"model": r.model, "p": r.p, "block_p": r.block_p, "seed": r.seed,
                          "train_loss": r.train_loss.tolist(), "val_loss": r.val_loss.tolist(),
                          "val_acc": r.val_acc.tolist(), "train_acc": r.train_acc.tolist(), "test_acc": r.test_acc}
                         for r in self.runs.values()]}


def _eval(model, x, y, chunk: int = 1000) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) in eval mode, in chunks."""
    import torch

    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(y), chunk):
            s = model(x[i:i + chunk])
            loss += float(torch.nn.functional.cross_entropy(s, y[i:i + chunk], reduction="sum"))
            correct += int((s.argmax(1) == y[i:i + chunk]).sum())
    model.train()
    return loss / len(y), correct / len(y)


def run(models: Any = ("simple",), ps: Any = (0.0, 0.5), dataset: str = "digits", device: Any = "cpu",
        epochs: int | None = None, seeds: Any = (0,), block_dropout: float = 0.0, lr: float | None = None,
        data_seed: int = 0, root: Any = None, threads: int | None = 1, progress: bool = False) -> DropoutCNNResult:
    """Train every (model, p, seed): p on the Linear layers' inputs, ``block_dropout`` (a fraction of p:
    ``block_dropout * p``) on the blocks' outputs."""
    who = "dropout_cnn.run"
    if dataset not in PRESETS:
        raise ValueError(f"{who}: dataset must be one of {sorted(PRESETS)}, got {dataset!r}")
    models, seeds = tuple(models), tuple(checks.integer(s, "seeds", who, minimum=0) for s in seeds)
    if not models or any(m not in MODELS for m in models):
        raise ValueError(f"{who}: models must be a non-empty subset of {MODELS}, got {models!r}")
    ps = tuple(check_p(p, who, "ps") for p in ps)
    if not ps or not seeds:
        raise ValueError(f"{who}: ps and seeds must not be empty")
    block_dropout = checks.real(block_dropout, "block_dropout", who, minimum=0, maximum=1)
    cfg = dict(PRESETS[dataset])
    if epochs is not None:
        cfg["epochs"] = checks.integer(epochs, "epochs", who, minimum=1)
    if lr is not None:
        cfg["lr"] = checks.real(lr, "lr", who, minimum=0, exclusive_minimum=True)
    dev = torch_device(device, who)

    import torch

    from course_lib.scratch.solver import progress_bar
    from course_lib.torch_impl.cnn import SimpleCNN
    from course_lib.torch_impl.solver import Solver

    arrays, shape, n_classes = load_images(dataset, data_seed, root, who)
    t = {k: torch.as_tensor(v, device=dev) for k, v in arrays.items()}
    runs = {}
    combos = [(m, p, s) for m in models for p in ps for s in seeds]
    bar = progress_bar(len(combos), progress, desc="dropout cnn")
    with torch_threads(threads if dev.type == "cpu" else None):
        for m, p, s in combos:
            block_p = block_dropout * p
            model = SimpleCNN(shape[0], shape[1:], n_classes, channels=cfg["widths"], hidden=cfg["hidden"], rng=s,
                              convs_per_block=2 if m == "deep" else 1, dropout=p or None, block_dropout=block_p or None,
                              device=dev, dtype=torch.float32)
            opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"],
                                  weight_decay=cfg["weight_decay"])
            solver = Solver(model, arrays, opt, batch_size=cfg["batch_size"], epochs=1, seed=s, progress=False,
                            max_eval=cfg["max_eval"])  # train() again continues: one epoch per call
            val_loss = []
            start = time.perf_counter()
            for _ in range(cfg["epochs"]):
                history = solver.train()
                val_loss.append(_eval(model, t["x_val"], t["y_val"])[0])
            losses = np.reshape(np.asarray(history.loss, dtype=float), (cfg["epochs"], -1)).mean(axis=1)
            val_acc, train_acc = history.val_acc, history.train_acc
            seconds = time.perf_counter() - start
            _, test_acc = _eval(model, t["x_test"], t["y_test"])
            runs[m, p, s] = DropoutCNNRun(model=m, p=p, block_p=block_p, seed=s, train_loss=losses,
                                          val_loss=np.array(val_loss), val_acc=np.array(val_acc),
                                          train_acc=np.array(train_acc), test_acc=test_acc, seconds=seconds)
            bar.update(1)
    bar.close()
    config = dict(cfg, dataset=dataset, device=str(dev), block_dropout=block_dropout, data_seed=data_seed)
    return DropoutCNNResult(models=models, ps=ps, seeds=seeds, dataset=dataset, runs=runs, config=config)


def main(argv: Any = None) -> DropoutCNNResult:
    """``python -m course_lib.experiments.dropout_cnn [--dataset D] [--device D] [--epochs N] [--seeds K]
    [--ps P ...] [--out DIR]``: prints the table, writes ``DIR/dropout_cnn.json`` (and the figure)."""
    parser = parser_with_common_options("dropout_cnn", "Dropout in a simple and a deeper CNN.", PRESETS)
    parser.add_argument("--ps", type=float, nargs="+", default=[0.0, 0.3, 0.7], help="drop probabilities")
    parser.add_argument("--block-dropout", type=float, default=0.0,
                        help="drop probability of the blocks' outputs, as a fraction of p")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--out", default=None, help="directory for dropout_cnn.json and dropout_cnn.png")
    parser.add_argument("--root", default=None, help="data cache directory (CIFAR-10)")

    def run_args(args):
        return run(models=args.models, ps=args.ps, dataset=args.dataset, device=args.device, epochs=args.epochs,
                   seeds=range(args.seeds), block_dropout=args.block_dropout, lr=args.lr, root=args.root,
                   threads=1 if args.dataset == "digits" else None, progress=True)

    return run_from_command_line(parser, argv, run_args, "dropout_cnn",
                                 ("course_lib.plotting.dropout", "plot_dropout_cnn"))


if __name__ == "__main__":  # pragma: no cover
    main()
