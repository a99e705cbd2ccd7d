"""Ghost-batch BatchNorm: the per-replica statistics of ``nn.DataParallel`` in one process (reference §5.5, §5.6).

The authors trained Market with a batch of 192 under ``nn.DataParallel`` on 8 GPUs. DataParallel cuts every input
with ``Tensor.chunk(n_devices)`` (``torch/csrc/cuda/comm.cpp``, ``scatter``: ``tensor.chunk(devices.size(), dim)``)
and runs one module replica per chunk, so in training mode every BatchNorm normalises each chunk with that chunk's own
batch statistics, and the gradients of the shared weights are the sum over the replicas.

Which running statistics survive: ``replicate`` (``torch/nn/parallel/replicate.py``) hands the buffers to the
replicas through ``_broadcast_coalesced_reshape(..., detach=True)`` -> ``comm.broadcast_coalesced``, whose C++ body
(``torch/csrc/cuda/comm.cpp``, ``broadcast_coalesced``) sets ``outputs[0] = tensors.vec()`` — "For device[0] ... the
input Variables are always returned as-is" — and gives every other device a fresh copy (the Python version of old
PyTorch releases did the same: "use the original tensors for the first device"). So replica 0, which gets the first
chunk, updates the module's own ``running_mean`` / ``running_var`` / ``num_batches_tracked`` in place; the other
replicas update copies that are thrown away. Net effect per forward call: running statistics move towards the first
chunk's statistics (unbiased variance over that chunk), and ``num_batches_tracked`` grows by one.

Written by hand because no library offers DataParallel's statistics semantics without DataParallel (which needs
one GPU per replica). Each chunk goes through ``F.batch_norm`` as its replica would, so per-chunk outputs are
bit-identical to a replica's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GhostBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training-mode forward normalises ``x.chunk(groups)`` separately (DataParallel replicas).

    Same parameters, buffers and state-dict keys as ``nn.BatchNorm2d``; eval mode (running statistics) is unchanged.

    Args:
        num_features: channels C.
        groups: chunks per forward call (``Tensor.chunk`` semantics: ``ceil(B / groups)`` samples each, the last one
            smaller, fewer chunks when B is small). 1 = plain BatchNorm.
        **kwargs: as ``nn.BatchNorm2d``.
    Input/output: (B, C, H, W), any memory format (chunks of dim 0 keep it).
    """

    def __init__(self, num_features: int, groups: int = 1, **kwargs) -> None:
        super().__init__(num_features, **kwargs)
        if groups < 1:
            raise ValueError(f"groups must be >= 1, got {groups}")
        self.groups = groups

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, groups={self.groups}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.groups == 1 or x.shape[0] <= 1:
            return super().forward(x)
        self._check_input_dim(x)
        factor = 0.0 if self.momentum is None else self.momentum
        track = self.track_running_stats
        if track and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)  # once per call: only replica 0's counter survives
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        outs = []
        for i, chunk in enumerate(x.chunk(self.groups, 0)):
            first = track and i == 0  # replica 0 updates the module's own buffers, the others' copies are dropped
            mean, var = (self.running_mean, self.running_var) if first else (None, None)
            outs.append(F.batch_norm(chunk, mean, var, self.weight, self.bias, True, factor, self.eps))
        return torch.cat(outs, 0)


def convert_ghost_batchnorm(module: nn.Module, groups: int) -> nn.Module:
    """Replace every ``nn.BatchNorm2d`` in ``module`` (in place, and returned) by a :class:`GhostBatchNorm2d` with
    ``groups`` chunks that holds the same parameter and buffer tensors; ``groups`` 1 leaves ``module`` unchanged.

    State-dict keys stay the same, so checkpoints load into the plain networks and back.
    """
    if groups == 1:
        return module
    for name, child in module.named_children():
        if type(child) is nn.BatchNorm2d:
            ghost = GhostBatchNorm2d(
                child.num_features, groups, eps=child.eps, momentum=child.momentum, affine=child.affine,
                track_running_stats=child.track_running_stats, device="meta",
            )  # fmt: skip
            for key, param in child._parameters.items():
                ghost._parameters[key] = param
            for key, buf in child._buffers.items():
                ghost._buffers[key] = buf
            ghost.train(child.training)
            setattr(module, name, ghost)
        else:
            convert_ghost_batchnorm(child, groups)
    return module
