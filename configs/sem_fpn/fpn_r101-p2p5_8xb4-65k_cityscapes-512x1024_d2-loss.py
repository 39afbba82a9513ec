# The SemanticFPN R101 recipe of fpn_r101-p2p5_8xb4-65k_cityscapes-512x1024.py
# with detectron2's loss averaging: the cross-entropy is averaged over the
# pixels that are not ignored (detectron2's F.cross_entropy(...,
# ignore_index=255, reduction='mean'); mmseg's default, avg_non_ignore=False,
# averages over all pixels, so the gradient shrinks with the ignored
# fraction of each batch). The coarse head of the d2-zoo PointRend config.
_base_ = './fpn_r101-p2p5_8xb4-65k_cityscapes-512x1024.py'

model = dict(decode_head=dict(loss_decode=dict(avg_non_ignore=True)))
