"""One class-dependent dimension of a tensor, laid out as parts."""
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor

_FIXED, _CLASSES = 'fixed', 'classes'


@dataclass(frozen=True)
class ClassAxis:
    """How one dimension of a tensor depends on the classes.

    Args:
        dim (int): The dimension.
        parts (tuple): Consecutive parts of the dimension, each
            ``('fixed', n)`` (``n`` entries that do not depend on the
            classes) or ``('classes', g)`` (``K`` blocks of ``g`` entries,
            class ``k``'s block ``k``).
    """

    dim: int
    parts: Tuple[Tuple[str, int], ...]

    @classmethod
    def blocks(cls,
               dim: int,
               group: int = 1,
               before: int = 0,
               after: int = 0) -> 'ClassAxis':
        """``before`` fixed entries, ``K`` blocks of ``group``, ``after``
        fixed entries (e.g. a classifier with a background row:
        ``blocks(0, after=1)``)."""
        return cls(dim, ((_FIXED, before), (_CLASSES, group), (_FIXED, after)))

    def size(self, num_classes: int) -> int:
        """The dimension's length for ``num_classes`` classes."""
        return sum(n * (num_classes if kind == _CLASSES else 1)
                   for kind, n in self.parts)

    @property
    def fixed(self) -> int:
        """Entries that do not depend on the classes."""
        return sum(n for kind, n in self.parts if kind == _FIXED)

    def num_classes(self, size: int) -> Optional[int]:
        """The class count a dimension of length ``size`` has, or None when
        no class count gives that length."""
        per_class = sum(n for kind, n in self.parts if kind == _CLASSES)
        if size < self.fixed or per_class == 0 or \
                (size - self.fixed) % per_class:
            return None
        return (size - self.fixed) // per_class

    def source_index(self, num_src: int,
                     src_of_dst: Sequence[Optional[int]]) -> Tensor:
        """For each entry of the model's dimension (one class per entry of
        ``src_of_dst``), the checkpoint's entry (``num_src`` classes) it
        takes, or -1 (keep the model's initialised value)."""
        out = []
        src_offset = 0
        for kind, n in self.parts:
            if kind == _FIXED:
                out.extend(range(src_offset, src_offset + n))
                src_offset += n
                continue
            for src in src_of_dst:
                if src is None:
                    out.extend([-1] * n)
                else:
                    start = src_offset + src * n
                    out.extend(range(start, start + n))
            src_offset += n * num_src
        return torch.tensor(out, dtype=torch.long)
