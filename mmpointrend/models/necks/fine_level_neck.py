"""A neck wrapper that hands the backbone's stride-4 stage to the head.

PointRend's point head reads a fine feature map at its points. Necks of
today's one-stage instance segmenters (RTMDet's ``CSPNeXtPAFPN``) start at
stride 8. Rather than add a stride-4 path to the neck (a new, untrained
top-down level at the most expensive resolution), the backbone's own
stride-4 stage is passed on as it is: it is computed anyway, pretrained,
and the point head needs its local detail only (the coarse logit at the
point carries the instance's semantics), as PointRend's semantic head reads
ResNet's res2 in detectron2.
"""
from typing import Tuple

from mmengine.model import BaseModule
from torch import Tensor

from mmpointrend.registry import DET_MODELS


@DET_MODELS.register_module()
class FineLevelNeck(BaseModule):
    """``(fine, *levels)`` of the backbone -> ``(fine, *neck(levels))``.

    Args:
        neck (dict): The detector's own neck, fed the backbone's levels
            after the first.
        init_cfg (dict, optional): Defaults to None.

    Set the backbone's ``out_indices`` to start one stage earlier (the
    stride-4 one), e.g. ``(1, 2, 3, 4)`` for CSPNeXt.
    """

    def __init__(self, neck: dict, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.neck = DET_MODELS.build(neck)

    def forward(self, inputs: Tuple[Tensor, ...]) -> Tuple[Tensor, ...]:
        if len(inputs) < 2:
            raise ValueError('FineLevelNeck needs the stride-4 stage and the '
                             "neck's levels: add the stride-4 stage to the "
                             "backbone's out_indices")
        return (inputs[0], ) + tuple(self.neck(tuple(inputs[1:])))
