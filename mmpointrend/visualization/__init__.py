"""Pictures of the subdivision (paper Fig. 1, 4, 9) and side-by-side masks."""
from .subdivision import (instance_subdivision_pictures,
                          semantic_subdivision_picture)

__all__ = ['instance_subdivision_pictures', 'semantic_subdivision_picture']
