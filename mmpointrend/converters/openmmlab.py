"""State-dict key mappings between mmdet's / mmseg's PointRend and ours.

MMDetection 3.x's ``PointRendRoIHead`` (``CoarseMaskHead`` +
``MaskPointHead``) and our ``PointRendInstanceRoIHead`` hold the same
weights under different names; everything outside the mask branch (backbone,
neck, RPN, box head) is named identically.

====================================  =====================================
mmdet                                 mmpointrend
====================================  =====================================
``mask_head.downsample_conv.conv.*``  ``mask_head.reduce.*``
``mask_head.fcs.{i}.*``               ``mask_head.fcs.{i}.*``
``mask_head.fc_logits.*``             ``mask_head.predictor.*``
``point_head.fcs.{i}.conv.*``         ``point_head.fcs.{i}.*``
``point_head.fc_logits.*``            ``point_head.fc_logits.*``
====================================  =====================================

MMSegmentation 1.x's ``PointHead`` (the last ``decode_head`` of its PointRend
models) and our ``PointRendSemanticHead``:

====================================  =====================================
mmseg                                 mmpointrend
====================================  =====================================
``decode_head.{s}.fcs.{i}.conv.*``    ``decode_head.{s}.point_head.fcs.{i}.*``
``decode_head.{s}.fc_seg.*``          ``decode_head.{s}.point_head.fc_logits.*``
====================================  =====================================
"""
import re
from collections import OrderedDict
from typing import Dict

from torch import Tensor

# (mmdet pattern, ours pattern) on the part of a key after the RoI head
_RULES = (
    (r'mask_head\.downsample_conv\.conv\.', 'mask_head.reduce.'),
    (r'mask_head\.fc_logits\.', 'mask_head.predictor.'),
    (r'point_head\.fcs\.(\d+)\.conv\.', r'point_head.fcs.\1.'),
)
_REVERSE = (
    (r'mask_head\.reduce\.', 'mask_head.downsample_conv.conv.'),
    (r'mask_head\.predictor\.', 'mask_head.fc_logits.'),
    (r'point_head\.fcs\.(\d+)\.(weight|bias)$', r'point_head.fcs.\1.conv.\2'),
)


def _rename(state_dict: Dict[str, Tensor], rules, prefix: str):
    out = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith(prefix):
            rest = key[len(prefix):]
            for pattern, repl in rules:
                rest, n = re.subn('^' + pattern, repl, rest)
                if n:
                    break
            key = prefix + rest
        out[key] = value
    return out


_SEG_RULES = (
    (r'fcs\.(\d+)\.conv\.', r'point_head.fcs.\1.'),
    (r'fc_seg\.', 'point_head.fc_logits.'),
)
_SEG_REVERSE = (
    (r'point_head\.fcs\.(\d+)\.', r'fcs.\1.conv.'),
    (r'point_head\.fc_logits\.', 'fc_seg.'),
)


def mmseg_to_mmpointrend(state_dict: Dict[str, Tensor],
                         prefix: str = 'decode_head.1.') -> Dict[str, Tensor]:
    """Rename an mmseg PointRend state dict to ours.

    Args:
        state_dict (dict): mmseg keys (a whole segmentor's).
        prefix (str): Where the point head's keys start. Defaults to
            ``'decode_head.1.'`` (the second head of the cascade).

    Returns:
        dict: the same tensors under our names.
    """
    return _rename(state_dict, _SEG_RULES, prefix)


def mmpointrend_to_mmseg(state_dict: Dict[str, Tensor],
                         prefix: str = 'decode_head.1.') -> Dict[str, Tensor]:
    """The inverse of :func:`mmseg_to_mmpointrend`."""
    return _rename(state_dict, _SEG_REVERSE, prefix)


def mmdet_to_mmpointrend(state_dict: Dict[str, Tensor],
                         prefix: str = 'roi_head.') -> Dict[str, Tensor]:
    """Rename an mmdet PointRend state dict to ours.

    Args:
        state_dict (dict): mmdet keys (a whole detector's, or a RoI head's
            with ``prefix=''``).
        prefix (str): Where the RoI head's keys start. Defaults to
            ``'roi_head.'``.

    Returns:
        dict: the same tensors under our names.
    """
    return _rename(state_dict, _RULES, prefix)


def mmpointrend_to_mmdet(state_dict: Dict[str, Tensor],
                         prefix: str = 'roi_head.') -> Dict[str, Tensor]:
    """The inverse of :func:`mmdet_to_mmpointrend`."""
    return _rename(state_dict, _REVERSE, prefix)
