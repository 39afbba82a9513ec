"""mmpointrend: PointRend for MMDetection 3.x and MMSegmentation 1.x."""
import os.path as osp
from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(*names):
    """Requirement lines of requirements/<name>.txt, comments dropped."""
    reqs = []
    for name in names:
        with open(osp.join(HERE, 'requirements', f'{name}.txt')) as f:
            reqs += [
                line.split('#')[0].strip() for line in f
                if line.split('#')[0].strip()
            ]
    return reqs


def get_version():
    scope = {}
    with open(osp.join(HERE, 'mmpointrend', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmpointrend',
    version=get_version(),
    description='PointRend (CVPR 2020) for MMDetection 3.x and '
    'MMSegmentation 1.x',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(exclude=('configs', 'tools', 'demo', 'tests')),
    python_requires='>=3.8',
    # torch and mmcv are left to the user (CUDA build / mim), as in mmdet.
    install_requires=read_requirements('runtime'),
    extras_require={
        'all': read_requirements('runtime', 'optional', 'tests'),
        'tests': read_requirements('tests'),
        'optional': read_requirements('optional'),
        'mim': read_requirements('mminstall'),
    },
    zip_safe=False)
