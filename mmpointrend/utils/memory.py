"""Peak memory of a block of code, for the benchmarks and the demo."""
import torch


def _status_mb(field: str) -> float:
    """A ``/proc/self/status`` memory field in MB (Linux)."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f'{field} not in /proc/self/status')


class PeakMemory:
    """Peak memory (MB) allocated inside the ``with`` block, as ``mb``.

    On a GPU: the device's peak allocation over its allocation before the
    block. On the CPU: the rise of the process's resident set, its
    high-water mark (VmHWM) reset to the current size (``/proc/self/
    clear_refs``) on entry; where that reset is refused the peak counts
    from the process's start.
    """

    def __init__(self, device='cpu'):
        self.device = torch.device(device)

    def __enter__(self):
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start = torch.cuda.memory_allocated(self.device) / 2**20
        else:
            try:
                with open('/proc/self/clear_refs', 'w') as f:
                    f.write('5')  # reset VmHWM to the current RSS
            except OSError:
                pass
            self.start = _status_mb('VmRSS:')
        return self

    def __exit__(self, *exc):
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device) / 2**20
        else:
            peak = _status_mb('VmHWM:')
        self.mb = peak - self.start
