"""pyroscope_sink.py: a stand-in for a Pyroscope server's POST /ingest, for the push tests.

    /usr/bin/python3 pyroscope_sink.py DIR MODE [LIFETIME_S]

Listens on 127.0.0.1 on a port of the kernel's choosing and writes that port to DIR/port.
MODE says how it answers POST /ingest:
  ok    200, after saving request N (1, 2, ...) as DIR/req-N.query (the query string),
        DIR/req-N.profile (the multipart field "profile", as sent: gzipped profile.proto),
        DIR/req-N.config (the field "sample_type_config"), DIR/req-N.parts (every field's
        name and filename, one per line) and DIR/req-N.time (UNIX time of receipt)
  fail  500 "ingester unavailable", saving nothing
  slow  sleeps 5 s, then 200
  closed  no server: the port is bound and never listened on, so a connection to it is
        refused, and no other process can be given the port while this one lives (a
        sink's port freed by its end went to the next sink started, and a test meant to
        find nothing there found that sink)
Any other path gets 404. It stops by itself after LIFETIME_S seconds (default 120), so a
test that dies does not leave it behind; only loopback is ever listened on.
"""
import email.parser
import email.policy
import http.server
import os
import socket
import sys
import threading
import time


def save_request(directory, count, query, content_type, body):
    """Writes the request's parts as the module's docstring lists them."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    names = []
    base = os.path.join(directory, "req-%d" % count)
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        names.append("%s %s" % (name, part.get_filename()))
        data = part.get_payload(decode=True)
        if name == "profile":
            with open(base + ".profile", "wb") as out:
                out.write(data)
        elif name == "sample_type_config":
            with open(base + ".config", "wb") as out:
                out.write(data)
    with open(base + ".parts", "w") as out:
        out.write("\n".join(names) + "\n")
    with open(base + ".query", "w") as out:
        out.write(query + "\n")
    # Written last: a test that sees .time sees the whole request.
    with open(base + ".time.tmp", "w") as out:
        out.write("%.3f\n" % time.time())
    os.rename(base + ".time.tmp", base + ".time")


class Handler(http.server.BaseHTTPRequestHandler):
    count = 0

    def answer(self, status, text):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if path != "/ingest":
            self.answer(404, "not found")
        elif self.server.mode == "fail":
            self.answer(500, "ingester unavailable\nsecond line")
        elif self.server.mode == "slow":
            time.sleep(5)
            self.answer(200, "ok")
        else:
            Handler.count += 1
            save_request(self.server.directory, Handler.count, query,
                         self.headers.get("Content-Type", ""), body)
            self.answer(200, "ok")

    def log_message(self, *args):
        pass


class Server(http.server.HTTPServer):
    def handle_error(self, request, client_address):
        """A client that gave up (the timeout test's) is not the server's error."""


def write_port(directory, port):
    """DIR/port, whole once it is there."""
    with open(os.path.join(directory, "port.tmp"), "w") as out:
        out.write("%d\n" % port)
    os.rename(os.path.join(directory, "port.tmp"), os.path.join(directory, "port"))


def main():
    directory, mode = sys.argv[1], sys.argv[2]
    lifetime = float(sys.argv[3]) if len(sys.argv) > 3 else 120.0
    threading.Timer(lifetime, lambda: os._exit(0)).start()
    if mode == "closed":
        held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        held.bind(("127.0.0.1", 0))
        write_port(directory, held.getsockname()[1])
        time.sleep(lifetime + 1)
        return
    server = Server(("127.0.0.1", 0), Handler)
    server.directory, server.mode = directory, mode
    write_port(directory, server.server_address[1])
    server.serve_forever()


main()
