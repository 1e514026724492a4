"""The torch half of :func:`course_lib.data.to_torch_loader` (imported lazily: it imports torch)."""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler, TensorDataset


class _SeededBatchSampler(Sampler):
    """Yields index lists; a new permutation from one numpy Generator per epoch (pass over it)."""

    def __init__(self, n, batch_size, seed, shuffle, drop_last, epoch_indices):
        self.n, self.batch_size, self.shuffle, self.drop_last = n, batch_size, shuffle, drop_last
        self.rng = np.random.default_rng(seed)
        self._epoch_indices = epoch_indices

    def __iter__(self):
        for idx in self._epoch_indices(self.rng, self.n, self.batch_size, self.shuffle, self.drop_last):
            yield idx.tolist()

    def __len__(self):
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)


def make_loader(x, y, batch_size, seed, device, shuffle, drop_last, dtype, epoch_indices) -> DataLoader:
    tx = torch.as_tensor(np.ascontiguousarray(x), dtype=dtype, device=device)
    y = np.ascontiguousarray(y)
    ty = torch.as_tensor(y.astype(np.int64) if np.issubdtype(y.dtype, np.integer) else y, device=device)
    sampler = _SeededBatchSampler(len(tx), batch_size, seed, shuffle, drop_last, epoch_indices)
    # DataLoader draws a base seed for its workers from ``generator`` (else from torch's GLOBAL generator)
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(TensorDataset(tx, ty), batch_sampler=sampler, generator=generator)
