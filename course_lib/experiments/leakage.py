r"""The golden rule of preprocessing, measured: statistics come from the training set only.

Three ways of breaking the rule, each measured over several seeds, each with the honest size of
its damage:

1. **Normalization statistics from train + test** (sklearn digits, a linear softmax classifier on
   standardized pixels). The test set's pixels leak into the mean and std. On i.i.d. data the
   effect on accuracy is tiny -- the damage is to the *protocol* (the test set no longer measures
   what deployment will see), not a large number.
2. **Statistics from the batch being predicted, at inference** (the same classifier, trained
   correctly). Each test batch of 32 digits is standardized with its own mean and std instead of the
   training ones. With random batches little changes; with batches that hold a single class -- data
   arriving sorted, one patient's scans, one camera -- the "statistics" remove exactly what tells the
   classes apart, and accuracy collapses. This is why batch norm switches to running statistics at
   inference.
3. **A supervised statistic fitted on all the data** (the "wrong way" to cross-validate of Hastie,
   Tibshirani & Friedman): pure noise, D = 2000 random features, random binary labels; keep the k
   features most correlated with the label, then train a nearest-class-mean classifier on the
   training half. Selecting on train + test makes the test accuracy look far above chance; selecting
   on the training half only gives the truth, 50%.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.data import load_digits
from course_lib.scratch.preprocessing import fit_standardize

from ._threads import single_blas_thread
from .image_means import train_linear

__all__ = ["LeakageResult", "select_by_correlation", "run"]


@dataclass(frozen=True, eq=False)
class LeakageResult:
    seeds: tuple
    acc_train_stats: np.ndarray  # (S,) test accuracy, statistics from train only
    acc_all_stats: np.ndarray  # (S,) test accuracy, statistics from train + test
    stat_shift: np.ndarray  # (S,) largest |mean change| of a pixel, in units of its training std
    changed_predictions: np.ndarray  # (S,) test predictions that differ between the two
    batch_acc: dict  # (batches, stats) -> (S,) accuracy; batches "random"/"one class", stats "train"/"own batch"
    noise_acc_leaky: np.ndarray  # (R,) test accuracy on pure noise, features selected on train + test
    noise_acc_honest: np.ndarray  # (R,) the same, features selected on train only
    config: dict

    @property
    def all_stats_gain(self) -> np.ndarray:
        """Accuracy with leaked statistics minus accuracy with train statistics, per seed."""
        return self.acc_all_stats - self.acc_train_stats

    def table(self) -> str:
        g = self.all_stats_gain
        rows = [
            f"1. standardize with train+test statistics: test accuracy change {g.mean():+.2%}",
            f"   (per seed {', '.join(f'{v:+.1%}' for v in g)}); largest mean shift {self.stat_shift.max():.3f} std;",
            f"   predictions changed per seed: {self.changed_predictions.tolist()}",
            "2. statistics at inference, batches of 32:",
        ]
        for batches in ("random", "one class"):
            a, b = self.batch_acc[(batches, "train")], self.batch_acc[(batches, "own batch")]
            rows.append(f"   {batches:<10} train stats {a.mean():.1%}, own-batch stats {b.mean():.1%}")
        rows.append(f"3. pure noise, k features selected on train+test: {self.noise_acc_leaky.mean():.1%} "
                    f"+- {self.noise_acc_leaky.std():.1%};")
        rows.append(f"   on train only: {self.noise_acc_honest.mean():.1%} +- {self.noise_acc_honest.std():.1%}"
                    "  (chance 50%)")
        return "\n".join(rows)


def select_by_correlation(x: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` columns of ``x`` with the largest |Pearson correlation| with ``y``."""
    xc, yc = x - x.mean(axis=0), y - y.mean()
    corr = (xc * yc[:, None]).sum(axis=0) / np.sqrt((xc**2).sum(axis=0) * (yc**2).sum() + 1e-300)
    return np.argsort(-np.abs(corr), kind="stable")[:k]


def _nearest_mean_accuracy(x_train, y_train, x_test, y_test) -> float:
    means = np.stack([x_train[y_train == c].mean(axis=0) for c in (0, 1)])
    dist = ((x_test[:, None, :] - means[None]) ** 2).sum(axis=2)
    return float(np.mean(dist.argmin(axis=1) == y_test))


@single_blas_thread
def run(seeds=(0, 1, 2, 3, 4), lr: float = 0.5, steps: int = 300, batch_size: int = 32, n_batches: int = 20,
        noise_repeats: int = 20, noise_n: int = 100, noise_d: int = 2000, noise_k: int = 20,
        seed: int = 0) -> LeakageResult:
    """Parts 1 and 2 for every seed of ``seeds`` (digits); part 3 ``noise_repeats`` times from ``seed``."""
    if steps < 1 or batch_size < 2 or noise_n < 4 or not 1 <= noise_k <= noise_d:
        raise ValueError("need steps >= 1, batch_size >= 2, noise_n >= 4 and 1 <= noise_k <= noise_d")
    acc_train, acc_all, shift, changed = [], [], [], []
    batch_acc = {(b, s): [] for b in ("random", "one class") for s in ("train", "own batch")}
    for s in seeds:
        split = load_digits(seed=s, scale="unit")
        x_train, y_train, x_test, y_test = split.x_train, split.y_train, split.x_test, split.y_test
        # 1. the right way and the leaky way, same classifier otherwise
        right = fit_standardize(x_train)
        leaky = fit_standardize(np.concatenate([x_train, x_test]))
        model = train_linear(right.transform(x_train), y_train, 10, lr, steps)
        acc_train.append(model.accuracy(right.transform(x_test), y_test))
        model_leak = train_linear(leaky.transform(x_train), y_train, 10, lr, steps)
        acc_all.append(model_leak.accuracy(leaky.transform(x_test), y_test))
        shift.append(float(np.max(np.abs(leaky.mean - right.mean) / right.std)))
        pred_right = model.predict(right.transform(x_test))
        pred_leak = model_leak.predict(leaky.transform(x_test))
        changed.append(int(np.count_nonzero(pred_right != pred_leak)))
        # 2. the correctly trained classifier, test batches standardized with their own statistics
        rng = np.random.default_rng([s, 2])
        for batches in ("random", "one class"):
            hits = {"train": 0, "own batch": 0}
            total = 0
            for k in range(n_batches):
                pool = np.arange(len(y_test)) if batches == "random" else np.flatnonzero(y_test == k % 10)
                idx = rng.choice(pool, size=min(batch_size, len(pool)), replace=False)
                xb, yb = x_test[idx], y_test[idx]
                hits["train"] += model.accuracy(right.transform(xb), yb) * len(yb)
                hits["own batch"] += model.accuracy(fit_standardize(xb).transform(xb), yb) * len(yb)
                total += len(yb)
            for stats in hits:
                batch_acc[(batches, stats)].append(hits[stats] / total)
    # 3. feature selection on pure noise
    rng = np.random.default_rng(seed)
    leaky_acc, honest_acc = [], []
    half = noise_n // 2
    for _ in range(noise_repeats):
        x = rng.standard_normal((noise_n, noise_d))
        y = np.repeat([0, 1], [half, noise_n - half])[rng.permutation(noise_n)]
        train, test = np.arange(half), np.arange(half, noise_n)
        if len(np.unique(y[train])) < 2:
            continue
        for features, out in ((select_by_correlation(x, y, noise_k), leaky_acc),
                              (select_by_correlation(x[train], y[train], noise_k), honest_acc)):
            out.append(_nearest_mean_accuracy(x[train][:, features], y[train], x[test][:, features], y[test]))
    return LeakageResult(
        seeds=tuple(int(s) for s in seeds), acc_train_stats=np.array(acc_train), acc_all_stats=np.array(acc_all),
        stat_shift=np.array(shift), changed_predictions=np.array(changed),
        batch_acc={k: np.array(v) for k, v in batch_acc.items()},
        noise_acc_leaky=np.array(leaky_acc), noise_acc_honest=np.array(honest_acc),
        config=dict(seeds=tuple(seeds), lr=lr, steps=steps, batch_size=batch_size, n_batches=n_batches,
                    noise_repeats=noise_repeats, noise_n=noise_n, noise_d=noise_d, noise_k=noise_k, seed=seed),
    )
