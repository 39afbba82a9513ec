# 4x conv Mask R-CNN R50-FPN, the PointRend paper's 3x schedule: 210k / 40k /
# 20k iterations at 0.02 / 0.002 / 0.0002; everything else as the 1x config.
_base_ = './mask-rcnn_r50-caffe_fpn_ms-poly-1x-iter_coco.py'

train_cfg = {{_base_.coco_3x.train_cfg}}
param_scheduler = {{_base_.coco_3x.param_scheduler}}
