r"""The computational graph of :math:`f(x, y, z) = (x + y)\,z`, forward and backward by hand.

Two gates, each with the ``forward`` / ``backward`` API of every op in the course:

* ``q = x + y``  (:class:`AddGate`): local gradients :math:`\partial q/\partial x = \partial q/\partial y = 1`;
* ``f = q z``    (:class:`MulGate`): local gradients :math:`\partial f/\partial q = z`,
  :math:`\partial f/\partial z = q`.

The forward pass visits the nodes in order and keeps what each backward needs (the cache);
the backward pass starts from :math:`\partial f/\partial f = 1` and visits them in reverse,
each gate multiplying the upstream gradient by its local gradients (the chain rule). With the
slides' numbers ``x = -2, y = 5, z = -4``: ``q = 3, f = -12`` and
``df/dx = df/dy = z = -4, df/dz = q = 3``.

``run()`` returns every node's value and gradient as data; with ``autograd=True`` it also
asks torch's autograd for the same three gradients.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AddGate", "MulGate", "Node", "CompGraphResult", "run"]


class AddGate:
    """``out = a + b``. The gradient is routed unchanged to both inputs."""

    @staticmethod
    def forward(a: float, b: float) -> tuple[float, None]:
        return a + b, None  # nothing to remember: the local gradients are the constant 1

    @staticmethod
    def backward(dout: float, cache: None) -> tuple[float, float]:
        return dout * 1.0, dout * 1.0


class MulGate:
    """``out = a * b``. Each input gets the upstream gradient times the OTHER input."""

    @staticmethod
    def forward(a: float, b: float) -> tuple[float, tuple[float, float]]:
        return a * b, (a, b)  # the backward pass needs both inputs

    @staticmethod
    def backward(dout: float, cache: tuple[float, float]) -> tuple[float, float]:
        a, b = cache
        return dout * b, dout * a


@dataclass(frozen=True)
class Node:
    """One node of the graph.

    ``local_grads[i]`` is the derivative of this node with respect to ``inputs[i]``;
    ``grad`` is :math:`\\partial f / \\partial \\text{node}` (the upstream gradient arriving here).
    """

    name: str
    op: str  # "input", "+" or "*"
    inputs: tuple[str, ...]
    value: float
    grad: float
    local_grads: tuple[float, ...] = ()


@dataclass(frozen=True)
class CompGraphResult:
    nodes: tuple[Node, ...]  # in forward (topological) order: x, y, z, q, f
    backward_order: tuple[str, ...]  # the order in which gradients are filled in
    autograd: dict | None  # {"x": df/dx, "y": ..., "z": ...} from torch, or None

    @property
    def values(self) -> dict[str, float]:
        return {n.name: n.value for n in self.nodes}

    @property
    def grads(self) -> dict[str, float]:
        return {n.name: n.grad for n in self.nodes}

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def table(self) -> str:
        """Node, operation, forward value and gradient, one row per node."""
        rows = [f"{'node':<5}{'op':<8}{'value':>8}{'df/dnode':>10}"]
        for n in self.nodes:
            op = n.op if n.op == "input" else f"{n.inputs[0]}{n.op}{n.inputs[1]}"
            rows.append(f"{n.name:<5}{op:<8}{n.value:>8g}{n.grad:>10g}")
        return "\n".join(rows)


def run(x: float = -2.0, y: float = 5.0, z: float = -4.0, autograd: bool = False) -> CompGraphResult:
    """Forward and backward through ``f = (x + y) z`` (deterministic: there is nothing random here)."""
    x, y, z = float(x), float(y), float(z)
    # forward: compute each node and keep the caches
    q, cache_q = AddGate.forward(x, y)
    f, cache_f = MulGate.forward(q, z)
    # backward: seed with df/df = 1 and apply the chain rule gate by gate, in reverse
    df = 1.0
    dq, dz = MulGate.backward(df, cache_f)
    dx, dy = AddGate.backward(dq, cache_q)

    nodes = (
        Node("x", "input", (), x, dx),
        Node("y", "input", (), y, dy),
        Node("z", "input", (), z, dz),
        Node("q", "+", ("x", "y"), q, dq, (1.0, 1.0)),
        Node("f", "*", ("q", "z"), f, df, (z, q)),
    )
    grads_autograd = _autograd(x, y, z) if autograd else None
    return CompGraphResult(nodes=nodes, backward_order=("f", "q", "z", "x", "y"), autograd=grads_autograd)


def _autograd(x: float, y: float, z: float) -> dict[str, float]:
    import torch

    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in (("x", x), ("y", y), ("z", z))}
    f = (t["x"] + t["y"]) * t["z"]
    f.backward()
    return {k: float(v.grad) for k, v in t.items()}
