"""MMSegmentation's :class:`CascadeEncoderDecoder` on top of any host's
decode head(s), single or already a cascade, without restating them."""
from typing import List, Optional

from mmpointrend.registry import seg_registries

SEG_MODELS, _ = seg_registries()


def flatten_heads(decode_head) -> List[dict]:
    """``decode_head`` as a flat list of head configs: nested lists (a
    cascade host's own list of stages, as ``{{_base_.model.decode_head}}``
    gives it) are spliced in order."""
    if isinstance(decode_head, dict):
        return [decode_head]
    heads = []
    for head in decode_head:
        heads += flatten_heads(head)
    return heads


if SEG_MODELS is not None:
    from mmseg.models.segmentors import CascadeEncoderDecoder

    @SEG_MODELS.register_module()
    class StackedEncoderDecoder(CascadeEncoderDecoder):
        """A :class:`CascadeEncoderDecoder` whose ``decode_head`` list may
        hold lists: ``[{{_base_.model.decode_head}}, point_rend_head]`` puts
        the PointRend head after the host's head, whether the host has one
        (FCN, PSPNet, UperNet, SegFormer: two stages) or is a cascade itself
        (OCRNet: its two heads, then PointRend). The model is mmseg's
        cascade, with the same state-dict keys (``decode_head.<i>``).

        Args:
            decode_head (list): Head configs, nested lists spliced.
            num_stages (int, optional): Not used: the stages are the heads.
                A cascade host's config states its own count, which the
                recipe inherits. Defaults to None.
            **kwargs: :class:`CascadeEncoderDecoder` arguments.
        """

        def __init__(self,
                     decode_head: list,
                     num_stages: Optional[int] = None,
                     **kwargs) -> None:
            heads = flatten_heads(decode_head)
            super().__init__(
                num_stages=len(heads), decode_head=heads, **kwargs)

else:  # mmsegmentation is optional for instance users
    StackedEncoderDecoder = None
