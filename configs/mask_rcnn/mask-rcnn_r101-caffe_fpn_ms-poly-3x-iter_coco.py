# 4x conv Mask R-CNN R101-FPN, 3x: the 1x config with the 3x schedule.
_base_ = './mask-rcnn_r101-caffe_fpn_ms-poly-1x-iter_coco.py'

train_cfg = {{_base_.coco_3x.train_cfg}}
param_scheduler = {{_base_.coco_3x.param_scheduler}}
