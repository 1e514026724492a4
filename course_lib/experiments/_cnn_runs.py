"""What the torch CNN experiments (`bn_placement`, `dropout_cnn`) share: the standardized image
data, the device, a cap on torch's threads, and the command line's common options and output."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
from pathlib import Path
from typing import Any, Callable

import numpy as np

SPLITS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


def load_images(dataset: str, data_seed: int, root: Any, who: str) -> tuple[dict, tuple[int, int, int], int]:
    """Standardized arrays (train statistics only), the image shape (C, H, W) and the number of classes.

    ``who`` names the caller in the error raised when the CIFAR-10 files are missing.
    """
    if dataset == "digits":
        from course_lib.data import load_digits

        data = load_digits(seed=data_seed, scale="standard")  # every pixel, with the training set's mean and std
        arrays = {k: getattr(data, k) for k in SPLITS}
        for k in ("x_train", "x_val", "x_test"):
            arrays[k] = arrays[k].reshape(-1, 1, 8, 8).astype(np.float32)
        return arrays, (1, 8, 8), 10
    from course_lib.data import DatasetError, load_cifar10

    try:
        data = load_cifar10(root, seed=data_seed, download=False)
    except DatasetError as err:
        raise FileNotFoundError(
            f"{who}: dataset='cifar10' needs the CIFAR-10 archive in the data cache; get it with "
            "`python -c 'from course_lib.data import load_cifar10; load_cifar10()'` (downloads 170 MB) "
            f"or put it there by hand.\n{err}") from err
    arrays = {k: getattr(data, k) for k in SPLITS}
    mean = arrays["x_train"].mean(axis=(0, 2, 3), keepdims=True)  # per channel, training set only
    std = arrays["x_train"].std(axis=(0, 2, 3), keepdims=True)
    for k in ("x_train", "x_val", "x_test"):
        arrays[k] = ((arrays[k] - mean) / std).astype(np.float32)
    return arrays, (3, 32, 32), 10


def torch_device(device: Any, who: str):
    """``device`` as a ``torch.device`` (None: the CPU); a ValueError naming ``who`` if CUDA is asked
    for and torch sees no GPU."""
    import torch

    if device is None or str(device) == "cpu":
        return torch.device("cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"{who}: device={device!r} was asked for, but torch sees no CUDA GPU")
    return torch.device(device)


@contextlib.contextmanager
def torch_threads(n: int | None):
    """At most ``n`` torch threads inside (None: leave torch's setting); the old count is restored."""
    import torch

    old = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(min(n, old))
    try:
        yield
    finally:
        torch.set_num_threads(old)


# ----- command line -------------------------------------------------------------------------------
def parser_with_common_options(name: str, description: str, datasets) -> argparse.ArgumentParser:
    """``python -m course_lib.experiments.<name>`` with ``--dataset``, ``--device``, ``--epochs``,
    ``--seeds`` and ``--lr``; the caller adds its own options, then ``--models``, ``--out``, ``--root``."""
    parser = argparse.ArgumentParser(prog=f"python -m course_lib.experiments.{name}", description=description)
    parser.add_argument("--dataset", choices=sorted(datasets), default="digits")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--epochs", type=int, default=None, help="default: the data set's preset")
    parser.add_argument("--seeds", type=int, default=1, help="number of seeds (0, 1, ...)")
    parser.add_argument("--lr", type=float, default=None, help="default: the data set's preset")
    return parser


def run_from_command_line(parser: argparse.ArgumentParser, argv: Any, run: Callable[[argparse.Namespace], Any],
                          name: str, plot: tuple[str, str]) -> Any:
    """Parse ``argv``, call ``run(args)``, print the result's table and, with ``--out DIR``, write
    ``DIR/<name>.json`` and the figure ``DIR/<name>.png`` made by ``plot`` = (module, function)
    when matplotlib is installed. A missing data set, an absent GPU or a bad setting ends the
    program with the message and status 2, no traceback."""
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be >= 1")
    try:
        result = run(args)
    except (FileNotFoundError, ValueError) as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    print(result.table())
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{name}.json").write_text(json.dumps(result.to_dict(), indent=1))
        try:
            plot_function = getattr(importlib.import_module(plot[0]), plot[1])
        except ImportError:  # matplotlib is optional here
            print("matplotlib is not installed: no figure")
        else:
            plot_function(result).savefig(out / f"{name}.png", dpi=150, bbox_inches="tight")
        print(f"wrote {out / f'{name}.json'}")
    return result
