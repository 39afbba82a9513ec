# Implicit PointRend R50-FPN, COCO 3x, trained from 10 labelled points per
# object instead of masks (PointSup, Cheng et al., CVPR 2022); same model,
# schedule and test as implicit-point-rend_r50-caffe_fpn_ms-3x_coco.py.
_base_ = [
    './implicit-point-rend_r50-caffe_fpn_ms-3x_coco.py',
    '../_base_/datasets/coco_point-sup.py'
]

train_dataloader = dict(
    dataset=dict(
        type='PointSupCocoDataset',
        ann_file={{_base_.point_sup_ann_file}},
        pipeline={{_base_.point_sup_train_pipeline}}))
# the mask branch learns at the annotated points (AnnotatedPointSampler)
model = dict(train_cfg=dict(rcnn=dict(point_sampling='annotated')))
