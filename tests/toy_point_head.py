"""A point head that is not PointRend's: a 2-layer MLP on the fine-grained
features alone (the coarse logits are not read). Configs pick it with
``custom_imports=dict(imports=['mmpointrend', 'toy_point_head'])``."""
import torch
import torch.nn as nn
from torch import Tensor

from mmpointrend.models.mask_heads import BasePointHead
from mmpointrend.registry import DET_MODELS, seg_registries


class ToyPointHead(BasePointHead):

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 hidden: int = 32,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.mlp = nn.Sequential(
            nn.Conv1d(in_channels, hidden, 1), nn.ReLU(),
            nn.Conv1d(hidden, num_classes, 1))
        self.calls = 0

    def forward(self,
                fine_feats: Tensor,
                coarse_feats: Tensor,
                labels=None) -> Tensor:
        self.calls += 1
        out = self.mlp(fine_feats)
        if labels is None:
            return out
        return out[torch.arange(len(labels)), labels][:, None]


DET_MODELS.register_module(module=ToyPointHead, force=True)
if seg_registries()[0] is not None:
    seg_registries()[0].register_module(module=ToyPointHead, force=True)
