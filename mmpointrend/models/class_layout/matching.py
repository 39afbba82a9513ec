"""Which checkpoint class each model class takes its weights from."""
from typing import List, Mapping, Optional, Sequence, Tuple


def match_classes(
    dst_classes: Sequence[str],
    src_classes: Optional[Sequence[str]],
    class_map: Optional[Mapping[str, str]] = None
) -> Tuple[List[Optional[int]], List[str]]:
    """For each of the model's classes, the checkpoint's class it takes.

    Args:
        dst_classes (Sequence[str]): The model's (the dataset's) classes.
        src_classes (Sequence[str], optional): The checkpoint's classes.
        class_map (Mapping[str, str], optional): Model class name ->
            checkpoint class name, for renamed classes (``{'pedestrian':
            'person'}``); takes precedence over same names.

    Returns:
        tuple: ``src_of_dst`` (a checkpoint index or None per model class)
        and how each was matched ('same name', 'class_map', 'new').
    """
    class_map = dict(class_map or {})
    unknown = [k for k in class_map if k not in dst_classes]
    if unknown:
        raise KeyError(f'class_map names {unknown}, which are not classes '
                       f'of the model: {list(dst_classes)}')
    lower = {name.strip().lower(): i for i, name in enumerate(src_classes)}
    src_of_dst, how = [], []
    for name in dst_classes:
        if name in class_map:
            src_name = class_map[name]
            if src_name.strip().lower() not in lower:
                raise KeyError(f'class_map maps {name!r} to {src_name!r}, '
                               'which is not a class of the checkpoint '
                               f'(it has {len(src_classes)}: '
                               f'{list(src_classes)[:10]}...)')
            src_of_dst.append(lower[src_name.strip().lower()])
            how.append('class_map')
        elif name.strip().lower() in lower:
            src_of_dst.append(lower[name.strip().lower()])
            how.append('same name')
        else:
            src_of_dst.append(None)
            how.append('new')
    return src_of_dst, how
