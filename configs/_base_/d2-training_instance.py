# detectron2's Mask R-CNN / PointRend training where mmdet's defaults differ,
# for the paper's 4x conv baselines (configs/mask_rcnn/*-iter_coco.py,
# *_cityscapes.py) and so for every PointRend config built on them.
# docs/faithfulness.md lists each difference, with the line on each side.
# - RPN matcher: each instance's best anchors are positive whatever their
#   IoU (detectron2's allow_low_quality_matches; mmdet floors them at 0.3);
# - RoI matcher: no low-quality matches (detectron2's ROI_HEADS matcher;
#   mmdet's Mask R-CNN re-assigns a proposal to an instance it matches best
#   even when another overlaps it more);
# - c2_xavier_fill (uniform Kaiming, a=1, fan_in) for the FPN convs and the
#   box head's FCs (mmdet: Xavier uniform); the box predictors stay N(0,
#   0.01) / N(0, 0.001), as both have them;
# - images resized with PIL bilinear (detectron2's ResizeShortestEdge;
#   mmdet: cv2), in training and testing.
c2_xavier_fill = dict(
    type='Kaiming',
    a=1,
    mode='fan_in',
    nonlinearity='leaky_relu',
    distribution='uniform')
d2_box_head_init = [
    dict(type='Normal', std=0.01, override=dict(name='fc_cls')),
    dict(type='Normal', std=0.001, override=dict(name='fc_reg')),
    dict(c2_xavier_fill, override=dict(name='shared_fcs'))
]
d2_training_model = dict(
    neck=dict(init_cfg=dict(c2_xavier_fill, layer='Conv2d')),
    roi_head=dict(bbox_head=dict(init_cfg=d2_box_head_init)),
    train_cfg=dict(
        rpn=dict(assigner=dict(min_pos_iou=0.0)),
        rcnn=dict(assigner=dict(match_low_quality=False))))

# ResizeShortestEdge with PIL bilinear: training (shorter side chosen per
# image, longer side at most 1333 / 2048) and testing
d2_coco_train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    # polygons: rasterised by the mask branch after resizing and flipping,
    # as detectron2's bitmask format (pycocotools, see mask_raster.py)
    dict(
        type='LoadAnnotations',
        with_bbox=True,
        with_mask=True,
        poly2mask=False),
    dict(
        type='RandomChoiceResize',
        scales=[(1333, s) for s in range(640, 801, 32)],
        keep_ratio=True,
        backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
d2_exact_coco_test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    # detectron2's ResizeShortestEdge(800, 1333) with PIL bilinear
    dict(type='Resize', scale=(1333, 800), keep_ratio=True, backend='pillow'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
# ResizeShortestEdge(1024, 2048): Cityscapes' own size
d2_exact_cityscapes_test_pipeline = [
    dict(t, scale=(2048, 1024)) if t['type'] == 'Resize' else t
    for t in d2_exact_coco_test_pipeline
]
