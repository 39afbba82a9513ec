# CPU demo of fine-tuning (README, "Fine-tune on your own data"): the demo
# PointRend, trained on the four shapes, taken to a new generated set whose
# classes share two names with them ('ring', 'star') and add one ('cross').
# demo/train_demo.py --task finetune trains this config three ways at the
# same budget: from scratch, with mmengine's plain load_from (what mmdet's
# tools do: every tensor of another shape is dropped, the whole point head
# included) and with ClassAwareLoadHook (what our tools add to load_from).
_base_ = './point-rend_r18-tiny_fpn_shapes.py'

classes = ('ring', 'cross', 'star')
metainfo = dict(classes=classes)
model = dict(
    roi_head=dict(
        bbox_head=dict(num_classes=len(classes)),
        mask_head=dict(num_classes=len(classes)),
        point_head=dict(num_classes=len(classes))))
train_dataloader = dict(dataset=dict(metainfo=metainfo))
val_dataloader = dict(dataset=dict(metainfo=metainfo))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=0.01))
