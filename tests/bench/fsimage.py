# A fresh journaled ext4 file system for each server in the benchmark. The machine's own
# file systems are whatever they are (this one's root ext4 has no journal, and file
# creation on it slows down after mass deletions, so a server measured after another, or
# a round after a round, would pay for their history). Each server under test instead
# gets an image of its own: a sparse file, mkfs.ext4 with the default journal and every
# inode table written up front (no lazy initialisation running in the background during
# the rounds), loop-mounted on a private directory, removed when the run ends.
import os
import shutil
import subprocess
import tempfile


class Ext4Image:
    def __init__(self, tag, size_gb=4, bytes_per_inode=4096):
        self.tag = tag
        fd, self.image = tempfile.mkstemp(prefix="bench-%s-" % tag, suffix=".ext4", dir="/var/tmp")
        os.close(fd)
        self.mountpoint = tempfile.mkdtemp(prefix="bench-fs-%s-" % tag, dir="/tmp")
        self.mounted = False
        try:
            os.truncate(self.image, size_gb << 30)
            subprocess.run(["mkfs.ext4", "-q", "-F", "-L", tag[:16], "-i", str(bytes_per_inode),
                            "-E", "lazy_itable_init=0,lazy_journal_init=0", self.image],
                           check=True, capture_output=True, timeout=300)
            subprocess.run(["mount", "-o", "loop", self.image, self.mountpoint], check=True,
                           capture_output=True, timeout=60)
            self.mounted = True
            os.chmod(self.mountpoint, 0o755)  # the servers' users traverse it
        except (OSError, subprocess.SubprocessError) as e:
            self.close()
            err = getattr(e, "stderr", b"") or b""
            raise RuntimeError("cannot make the %s file system image: %s %s"
                               % (tag, e, err.decode("utf-8", "replace").strip()))

    def describe(self):
        r = subprocess.run(["findmnt", "-n", "-o", "FSTYPE,SOURCE,OPTIONS", self.mountpoint],
                           capture_output=True, text=True)
        return " ".join(r.stdout.split())

    def close(self):
        if self.mounted:
            r = subprocess.run(["umount", self.mountpoint], capture_output=True)
            if r.returncode != 0:  # something still open: detach now, freed when closed
                subprocess.run(["umount", "-l", self.mountpoint], capture_output=True)
            self.mounted = False
        shutil.rmtree(self.mountpoint, ignore_errors=True)
        try:
            os.unlink(self.image)
        except FileNotFoundError:
            pass
