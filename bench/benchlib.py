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


def read(path):
    with open(path) as f:
        return f.read()


def children(pid):
    try:
        return [int(c) for c in read(f"/proc/{pid}/task/{pid}/children").split()]
    except OSError:
        return []


def child_running(parent, exe):
    """The first child of `parent` that runs the program `exe`."""
    for c in children(parent):
        try:
            if os.readlink(f"/proc/{c}/exe") == exe:
                return c
        except OSError:
            pass
    return None
