"""What bench/probes.py and bench/status.py share."""

import os
import shutil


def cold(path, out):
    """A copy of `path` that is in no page cache, as a container's first start
    reads its binary from the image: written, synced, then dropped from the
    cache (a copy, because pages that another process still maps, such as a
    vigil of an earlier part that is still exiting, are not dropped). What
    stays resident depends on how the page cache holds the binary: the kernel
    maps code in fault-around windows or whole large folios, whose sizes come
    from readahead on a cold start but from the writes of the copy right
    after one (about 60 KiB more)."""
    copy = out / "vigil-cold"
    shutil.copyfile(path, copy)
    os.chmod(copy, 0o755)
    os.sync()
    fd = os.open(copy, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return str(copy)
