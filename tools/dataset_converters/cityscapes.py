"""Prepare Cityscapes for the instance and semantic configs.

    python tools/dataset_converters/cityscapes.py data/cityscapes --nproc 8

Runs the converters that ship with the installed MMDetection and
MMSegmentation (nothing is re-implemented here):

* instance: ``mmdet/.mim/tools/dataset_converters/cityscapes.py`` writes
  ``annotations/instancesonly_filtered_gtFine_{train,val,test}.json`` (COCO
  format) from ``gtFine/*/*_instanceIds.png``;
* semantic: ``mmseg/.mim/tools/dataset_converters/cityscapes.py`` writes
  ``gtFine/*/*_labelTrainIds.png`` from ``*_polygons.json``.

The official metrics (mmdet's ``CityScapesMetric``, mmseg's
``CityscapesMetric``, both through ``cityscapesscripts``) read the original
``*_instanceIds.png`` / ``*_labelIds.png`` next to them, so keep those.
"""
import argparse
import os.path as osp
import subprocess
import sys


def _tool(package: str) -> str:
    mod = __import__(package)
    path = osp.join(
        osp.dirname(mod.__file__), '.mim', 'tools', 'dataset_converters',
        'cityscapes.py')
    if not osp.isfile(path):
        sys.exit(f'{package} has no Cityscapes converter at {path}; '
                 f'reinstall {package}')
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', help='Cityscapes root (leftImg8bit/, gtFine/)')
    parser.add_argument(
        '--task', choices=['instance', 'semantic', 'both'], default='both')
    parser.add_argument('--nproc', type=int, default=1)
    args = parser.parse_args(argv)
    for d in ('leftImg8bit', 'gtFine'):
        if not osp.isdir(osp.join(args.root, d)):
            sys.exit(f'{args.root} has no {d}/: give the Cityscapes root')
    steps = []
    if args.task in ('instance', 'both'):
        steps.append([
            _tool('mmdet'), args.root, '--nproc',
            str(args.nproc), '-o',
            osp.join(args.root, 'annotations')
        ])
    if args.task in ('semantic', 'both'):
        steps.append([_tool('mmseg'), args.root, '--nproc', str(args.nproc)])
    for step in steps:
        print('running', ' '.join(step), flush=True)
        rc = subprocess.run([sys.executable] + step).returncode
        if rc:
            sys.exit(f'{step[0]} failed (exit {rc}); see its message above '
                     '(mmdet needs leftImg8bit/ and gtFine/ with train, val '
                     'and test)')


if __name__ == '__main__':
    main()
