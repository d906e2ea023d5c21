"""The snapshot process of the local SnapStart: awslambdaric, whose restore/next forks.

``snapstart.Snapshot`` runs this file by path (``python -P snapstart_bootstrap.py HANDLER``,
so our tools are not importable: only the function's code and the runtime are) with the
function's environment and ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``. awslambdaric runs
init and the before-snapshot hooks, then calls ``/restore/next``, which on AWS returns in the
restored microVM. Here it returns at once and this process becomes the snapshot: it reads
restore requests from the control socket the emulator passed (``CONTROL_FD``) and forks one
child per request, the closest local equivalent of resuming the snapshot's memory. Each child
takes its own Runtime API, TMPDIR and HOME, calls ``/restore/next`` on its own Runtime API
(its after-restore hooks start) and returns into awslambdaric, which runs those hooks and its
invoke loop.

What fork does that a restore does not, undone in the child:

- ``random`` reseeds its global generator in a forked child (``os.register_at_fork``); a
  restored microVM resumes with the snapshot's state, so every instance draws the same
  numbers until a hook reseeds. The child gets the snapshot's state back.
- Open files share their offset with the siblings (one open file description); each microVM
  has its own. The child reopens them (its own copy for files under the snapshot's /tmp).
- TCP connections made during init would be shared, live, with the siblings; after a restore
  they are not to be relied on (the peer has usually dropped them). The child's are replaced
  by unconnected sockets, so using one fails as a stale connection does, and clients that
  check before reuse (urllib3, boto3) reconnect.

What it cannot undo: threads started during init do not exist in the child (they survive a
restore); the child's pid is not the snapshot's (a restored microVM keeps it); memory mapped
shared (``MAP_SHARED``, e.g. ``multiprocessing`` shared memory, mmapped files) and epoll
instances created during init stay shared between siblings.
"""

import contextlib
import ctypes
import json
import os
import random
import signal
import socket
import stat
import sys
import tempfile
import threading
import warnings

# Imported from here by snapstart, which this file cannot import.
CONTROL_FD = "_LOCAL_LAMBDA_SNAPSTART_CONTROL_FD"
INSTANCE_AGENT = "local-lambda-instance/"
PR_SET_PDEATHSIG = 1


def main():
    sys.path.insert(0, os.getcwd())  # as ``python -m awslambdaric`` has it
    # Importing the client loads its C half, which reads AWS_LAMBDA_RUNTIME_API once, as the
    # library loads; initialize_client does not read it again. So a fork's C calls (next,
    # response, error) still go to the snapshot's Runtime API, with INSTANCE_AGENT in their
    # User-Agent to say whose they are; its Python calls (restore/next, the init and restore
    # errors) go to ``lambda_runtime_address``, which the fork points at its own.
    from awslambdaric import __main__ as awslambdaric_main
    from awslambdaric.lambda_runtime_client import LambdaRuntimeClient

    fd = int(os.environ.pop(CONTROL_FD))
    os.set_inheritable(fd, False)  # not for the function's own subprocesses
    control = socket.socket(fileno=fd)
    restore_next = LambdaRuntimeClient.restore_next

    def snapshot_then_restore(client):
        restore_next(client)  # the emulator answers once the snapshot is "taken"
        serve_restores(client, control, restore_next)  # returns in each restored child

    LambdaRuntimeClient.restore_next = snapshot_then_restore
    sys.argv[0] = awslambdaric_main.__file__
    awslambdaric_main.main(sys.argv)


def serve_restores(client, control, restore_next):
    """Fork a restored instance per request until the emulator closes the socket."""
    # The snapshot, as it is now: what every instance resumes with.
    random_state = random.getstate()
    if threading.active_count() > 1:
        print(
            f"[local SnapStart] threads started during init ({threading.active_count() - 1}) "
            "do not run in restored instances here; on AWS they resume with the snapshot",
            file=sys.stderr,
            flush=True,
        )
    children: set[int] = set()
    previous = signal.signal(signal.SIGCHLD, lambda *_: _reap(children))
    requests = control.makefile("rb")
    snapshot = os.getpid()
    for line in requests:
        request = json.loads(line)
        try:
            with warnings.catch_warnings():
                # Python's warning that threads do not survive fork: said above, once.
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
        except OSError as exc:
            control.sendall(json.dumps({"error": str(exc)}).encode() + b"\n")
            continue
        if pid == 0:
            requests.close()
            control.close()
            signal.signal(signal.SIGCHLD, previous if previous is not None else signal.SIG_DFL)
            _become_restored(client, request, random_state, snapshot)
            restore_next(client)  # on its own Runtime API: restored, hooks start
            return
        children.add(pid)
        _reap(children)  # one that ended before it was added
        control.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    # The emulator has closed the pool (or is gone): so are its instances.
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    os._exit(0)


def _become_restored(client, request, random_state, snapshot):
    """Make this fresh fork the instance ``request`` describes."""
    from awslambdaric.lambda_runtime_client import _user_agent, runtime_client

    environment = request["environment"]
    # First, so that any failure from here on reaches this instance's Runtime API.
    client.lambda_runtime_address = environment["AWS_LAMBDA_RUNTIME_API"]
    # The snapshot ends this instance when the pool closes; if the snapshot is killed, so is
    # this (a snapshot gone before the call has left us orphaned: end now).
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != snapshot:
        os._exit(1)
    snapshot_tmp = os.environ.get("TMPDIR", "")
    os.environ.update(environment)
    if tempfile.tempdir == snapshot_tmp:  # cached by a gettempdir() during init
        tempfile.tempdir = None
    # The fork just reseeded random (random._inst, at fork); a restore would not have.
    random.setstate(random_state)
    _unshare_descriptors(snapshot_tmp, environment["TMPDIR"])
    runtime_client.initialize_client(f"{_user_agent()} {INSTANCE_AGENT}{request['token']}")


def _unshare_descriptors(snapshot_tmp, own_tmp):
    """Give this instance its own open files, and drop the TCP connections made during init."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd <= 2:  # the log stream, shared by every instance on AWS too
            continue
        try:
            mode = os.fstat(fd).st_mode
            if stat.S_ISREG(mode):
                _reopen(fd, snapshot_tmp, own_tmp)
            elif stat.S_ISSOCK(mode):
                _disconnect(fd)
        except OSError:
            continue  # gone (the listing's own), deleted or unreadable: left as it is


def _reopen(fd, snapshot_tmp, own_tmp):
    path = os.readlink(f"/proc/self/fd/{fd}")
    if snapshot_tmp and path.startswith(snapshot_tmp + os.sep):
        path = own_tmp + path[len(snapshot_tmp) :]
    with open(f"/proc/self/fdinfo/{fd}") as info:
        fields = dict(line.split(":", 1) for line in info if ":" in line)
    flags = int(fields["flags"], 8) & ~(os.O_CREAT | os.O_EXCL | os.O_TRUNC)
    own = os.open(path, flags)
    try:
        os.lseek(own, int(fields["pos"]), os.SEEK_SET)
        os.dup2(own, fd, inheritable=os.get_inheritable(fd))
    finally:
        os.close(own)


def _disconnect(fd):
    with socket.socket(fileno=os.dup(fd)) as inherited:
        if inherited.family not in (socket.AF_INET, socket.AF_INET6):
            return
        if inherited.type != socket.SOCK_STREAM:
            return
        inherited.getpeername()  # OSError (kept) unless connected: listening sockets stay
        with socket.socket(inherited.family, inherited.type) as unconnected:
            os.set_blocking(unconnected.fileno(), os.get_blocking(fd))
            os.dup2(unconnected.fileno(), fd, inheritable=os.get_inheritable(fd))


def _reap(children):
    for pid in list(children):
        try:
            ended, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            ended = pid
        if ended:
            children.discard(pid)


if __name__ == "__main__":
    main()
