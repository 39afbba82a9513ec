# Testing detectron2's Implicit PointRend weights converted to
# implicit-point-rend_r50-caffe_fpn_ms-1x_coco.py so that they give
# detectron2's own detections and masks (see ../_base_/d2-exact_instance.py).
_base_ = [
    './implicit-point-rend_r50-caffe_fpn_ms-1x_coco.py',
    '../_base_/d2-exact_instance.py'
]

model = {{_base_.d2_exact_model}}
test_pipeline = {{_base_.d2_exact_coco_test_pipeline}}
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_dataloader = test_dataloader
