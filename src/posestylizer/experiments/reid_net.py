"""The small re-identification network of the study, its training and its retrieval evaluation.

A four-stage CNN (conv-BN-ReLU, about 0.1 M parameters at width 16), trained from scratch (no downloaded weights)
with an identity cross-entropy loss over the training people (label smoothing 0.1, random horizontal flips);
the embedding is the BN-neck feature before the classifier, L2-normalised, compared by cosine similarity. Rank-1
and mAP come from torchmetrics' retrieval metrics (one retrieval group per query).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from posestylizer.experiments.reid_data import ImageSet
from posestylizer.runtime.extras import import_extra
from posestylizer.runtime.progress import QUIET, Progress

_MEAN, _STD = 0.45, 0.25  # rough statistics of the synthetic images; just to centre the input


class ReidNet(nn.Module):
    """A small CNN re-ID model.

    Args:
        classes: number of training identities.
        width: channels of the first stage (doubled at each of the next three).

    Input uint8-range float or uint8 images (B, 3, H, W), H and W multiples of 8 (64x32 here); ``forward`` returns
    (logits (B, classes), embedding (B, 8 * width) before normalisation).
    """

    def __init__(self, *, classes: int, width: int = 16) -> None:
        super().__init__()
        chans = [3, width, width * 2, width * 4, width * 8]
        layers: list[nn.Module] = []
        for k in range(4):
            layers += [nn.Conv2d(chans[k], chans[k + 1], 3, padding=1, bias=False), nn.BatchNorm2d(chans[k + 1]),
                       nn.ReLU(inplace=True)]  # fmt: skip
            if k < 3:  # 64x32 -> 8x4 after three halvings
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.neck = nn.BatchNorm1d(chans[-1])
        self.classifier = nn.Linear(chans[-1], classes, bias=False)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = (images.float() / 255.0 - _MEAN) / _STD
        feat = self.features(x).mean(dim=(2, 3))
        return self.classifier(self.neck(feat)), feat

    @torch.no_grad()
    def embed(self, images: torch.Tensor, batch: int = 256) -> torch.Tensor:
        """L2-normalised embeddings (N, D) of uint8 images (N, 3, H, W), in eval mode."""
        was = self.training
        self.eval()
        device = next(self.parameters()).device
        out = [F.normalize(self.neck(self(images[i : i + batch].to(device))[1]), dim=1).cpu()
               for i in range(0, len(images), batch)]  # fmt: skip
        self.train(was)
        return torch.cat(out)


def train_reid(train: ImageSet, *, steps: int, seed: int, batch: int = 64, lr: float = 2e-3, width: int = 32,
               device: str = "cpu", progress: Progress = QUIET) -> ReidNet:  # fmt: skip
    """Train a :class:`ReidNet` from scratch on ``train`` for ``steps`` iterations of ``batch`` images drawn uniformly
    (with ``seed``: initialisation and draw); Adam, cosine learning-rate decay to 0."""
    labels = {int(p): k for k, p in enumerate(sorted(set(train.pids.tolist())))}
    targets = torch.tensor([labels[int(p)] for p in train.pids])
    torch.manual_seed(seed)
    net = ReidNet(classes=len(labels), width=width).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    gen = torch.Generator().manual_seed(seed)
    steps_iter = progress(range(steps), f"re-ID seed {seed}", unit="step")
    net.train()
    for _ in steps_iter:
        idx = torch.randint(len(train), (batch,), generator=gen)
        x = train.images[idx]
        flip = torch.rand(batch, generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
        logits, _ = net(x.to(device))
        loss = F.cross_entropy(logits, targets[idx].to(device), label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return net.eval()


def retrieval_scores(net: ReidNet, test: ImageSet, query: list[int], gallery: list[int]) -> dict[str, float]:
    """Rank-1 and mAP of ``query`` against ``gallery`` (indices into ``test``) by cosine similarity, Market style:
    gallery images of the query's person taken by the query's camera are left out of its ranking; a query with no
    match left is skipped. Computed by torchmetrics' ``RetrievalHitRate(top_k=1)`` and ``RetrievalMAP``."""

    retrieval = import_extra("torchmetrics.retrieval", "study", "the re-ID study's rank-1 and mAP")
    RetrievalHitRate, RetrievalMAP = retrieval.RetrievalHitRate, retrieval.RetrievalMAP  # noqa: N806 (classes)
    emb = net.embed(test.images)
    q, g = torch.as_tensor(query), torch.as_tensor(gallery)
    sim = emb[q] @ emb[g].T  # (Q, G)
    same_pid = test.pids[q][:, None] == test.pids[g][None, :]
    same_cam = test.cams[q][:, None] == test.cams[g][None, :]
    keep = ~(same_pid & same_cam)
    rows = torch.arange(len(q))[:, None].expand_as(sim)
    preds, target, indexes = sim[keep], same_pid[keep], rows[keep]
    hit1 = RetrievalHitRate(top_k=1, empty_target_action="skip")
    mean_ap = RetrievalMAP(empty_target_action="skip")
    valid = int((same_pid & keep).any(dim=1).sum())
    return {"rank1": float(hit1(preds, target, indexes=indexes)), "mAP": float(mean_ap(preds, target, indexes=indexes)),
            "queries": valid, "gallery": len(gallery)}  # fmt: skip
