"""Point /run/web/live.sock, the socket nginx connects to on one host, at this container's
uWSGI (/run/web/<hostname>.sock, see uwsgi.ini).

The link is followed at every new connection, so moving it moves traffic at once, with no
nginx reload, while the previous container finishes the requests it holds. start-uwsgi.sh
runs this with --if-free (the first container, or the live one is gone); `djship deploy`
runs it in a new container once its healthcheck passes.
"""

import os
import socket
import sys

DIRECTORY = "/run/web"
LIVE = os.path.join(DIRECTORY, "live.sock")


def live_answers() -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1)
    try:
        probe.connect(LIVE)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def take_traffic() -> None:
    mine = f"{socket.gethostname()}.sock"
    pending = os.path.join(DIRECTORY, f".{mine}.link")
    if os.path.lexists(pending):
        os.unlink(pending)
    os.symlink(mine, pending)
    os.replace(pending, LIVE)  # a rename: nginx sees the old link or the new one, never none


if __name__ == "__main__":
    if "--if-free" in sys.argv and live_answers():
        sys.exit(0)
    take_traffic()
    print(f"live-socket: traffic goes to {socket.gethostname()}", file=sys.stderr)
