# Testing detectron2 zoo weights converted to point-rend_r101-caffe_fpn_ms-3x_coco.py
# so that they give detectron2's own detections and masks (see
# ../_base_/d2-exact_instance.py for the three differences from mmdet).
_base_ = [
    './point-rend_r101-caffe_fpn_ms-3x_coco.py',
    '../_base_/d2-exact_instance.py'
]

model = {{_base_.d2_exact_model}}
test_pipeline = {{_base_.d2_exact_coco_test_pipeline}}
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_dataloader = test_dataloader
