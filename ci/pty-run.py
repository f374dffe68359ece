#!/usr/bin/env python3
"""Run a command on a fresh pseudo-terminal and answer its password prompts with an empty line.

python-openstackclient only asks for a private-key password when stdin is a terminal
(osc_lib.utils.get_password), so `image create --sign-key-path` needs one. script(1) depends on
the caller's own terminal and job control, which differ between a desktop and a CI runner; this
driver does not. Usage: pty-run.py TIMEOUT_SECONDS COMMAND [ARG...]. Output goes to stdout; the
exit status is the command's (124 on timeout, like timeout(1)).
"""
import os
import pty
import select
import signal
import sys
import time


def main() -> int:
    deadline = time.monotonic() + float(sys.argv[1])
    argv = sys.argv[2:]
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    seen = b""
    answered = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return 124
        ready, _, _ = select.select([fd], [], [], min(remaining, 1.0))
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        seen = (seen + chunk)[-4096:]
        # Every prompt ends with "password" + ": " and no newline; answer each one once.
        if seen.lower().count(b"password") > answered and seen.rstrip(b" ").endswith(b":"):
            answered = seen.lower().count(b"password")
            os.write(fd, b"\n")
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) if status else 0


if __name__ == "__main__":
    sys.exit(main())
