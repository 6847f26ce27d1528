"""Open the port of uWSGI's HTTP router with TCP_NODELAY, then run the command that follows.

    python router-socket.py :8000 uwsgi --ini uwsgi.ini

uWSGI writes a static file's headers and its body in two writes, and its router sets no
TCP_NODELAY on the connections it accepts: on a kept-open connection the body then waits
for the client to acknowledge the headers (Nagle's algorithm meeting delayed ACKs), 40 ms a
file, measured. Linux gives every accepted connection the TCP_NODELAY of its listening
socket, so the socket is opened here, as descriptor 3, and uwsgi.ini hands it to the router
(`http = fd://3`), keeping it open across full reloads (`safe-fd = 3`).
"""

import os
import socket
import sys

ROUTER_FD = 3  # uwsgi.ini: http = fd://3, safe-fd = 3
BACKLOG = 100  # uWSGI's own default listen queue


def open_listener(address: str) -> socket.socket:
    """A TCP listener on "[host]:port" (no host: every IPv4 address, as uWSGI's ":8000")."""
    host, _, port = address.rpartition(":")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind((host or "0.0.0.0", int(port)))
    listener.listen(BACKLOG)
    return listener


def main(address: str, command: list[str]) -> None:
    listener = open_listener(address)
    if listener.fileno() == ROUTER_FD:
        os.set_inheritable(listener.detach(), True)
    else:
        os.dup2(listener.fileno(), ROUTER_FD)  # a dup2 copy is inheritable: the command has it
        listener.close()
    os.execvp(command[0], command)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: router-socket.py [HOST]:PORT COMMAND [ARGS...]")
    main(sys.argv[1], sys.argv[2:])
