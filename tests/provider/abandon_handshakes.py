#!/usr/bin/env python3
"""Opens TLS connections that abandon their handshake, as careless or hostile clients do: each
sends a real ClientHello, then either closes (FIN) at once or waits for the server's first bytes
and resets (RST). Usage: abandon_handshakes.py HOST PORT COUNT"""
import socket
import ssl
import struct
import sys


def client_hello() -> bytes:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def abandon(host: str, port: int, reset_after_reply: bool) -> None:
    with socket.create_connection((host, port), timeout=5) as connection:
        connection.sendall(client_hello())
        if reset_after_reply:
            try:
                connection.recv(1)  # the server's first byte: its handshake is under way
            except OSError:
                pass
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def main() -> int:
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for i in range(count):
        try:
            abandon(host, port, reset_after_reply=i % 2 == 1)
        except OSError as error:
            print(f"connection {i}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
