#!/usr/bin/env python3
"""Authenticating reverse proxy in front of a model server that listens on a Unix socket.

vLLM's --api-key (VLLM_API_KEY) guards only some path prefixes (/v1, and /v2, /inference, /cohere
in newer releases). Every other route answers without a key, among them /invocations, which runs
the same chat and completion requests as /v1. On a shared cluster any user who reaches the node's
port could prompt the model through it. So the job runs the server on a Unix socket in a directory
only its own user can enter, and this front holds the published port: it requires
`Authorization: Bearer <key>` on every request, whatever the path or method, and passes the
authenticated ones through unchanged (the Authorization header included, so the server's own check
passes too).

Standard library only, Python 3.8+: it runs with the container's Python on the cluster and the
host's Python locally. The key is read from the environment (argv is world-readable in /proc) and
never logged. One line is logged at start; requests are not logged (the server logs them).
"""

import argparse
import hmac
import http.client
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROG = "auth_front"
CHUNK = 64 * 1024
# A request that is refused still has its body read (up to this much) so that the refusal arrives
# on a connection the client can read, instead of being cut off by a reset.
REFUSED_BODY_DRAIN = 1024 * 1024
# Idle limit for a client connection (reading a request, or a client that stops reading a
# response). Waiting for the server's answer is not bounded: a slow generation is not our business.
CLIENT_IDLE_SECONDS = 300
LINGER_SECONDS = 2

# RFC 9110 7.6.1, plus Expect: a 100 Continue is the front's to give.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
}


class BadRequest(Exception):
    pass


class ClientGone(Exception):
    pass


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a Unix socket, without a timeout: the model may take long to answer."""

    def __init__(self, path):
        super().__init__("localhost", timeout=None)
        self.unix_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.unix_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def error_body(status, kind, message):
    return json.dumps({"error": {"message": message, "type": kind, "code": status}}).encode()


class FrontHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = CLIENT_IDLE_SECONDS
    # Set on the subclass made in make_server.
    expected_authorization = b""
    upstream_path = ""

    def setup(self):
        super().setup()
        # Headers and body go out as separate writes; with Nagle on, the second one waits for the
        # client's delayed ACK (40 ms on Linux) on every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # ---- authentication -----------------------------------------------------------------------

    def authorized(self):
        values = self.headers.get_all("Authorization") or []
        if len(values) != 1:
            return False
        # Header values are decoded as Latin-1, so this gives back the bytes the client sent.
        provided = values[0].strip().encode("latin-1", "replace")
        return hmac.compare_digest(provided, self.expected_authorization)

    def handle_expect_100(self):
        # Only a client holding the key is invited to send its body.
        if self.authorized():
            return super().handle_expect_100()
        self.close_connection = True
        self.send_json(401, error_body(401, "authentication_error", "Unauthorized"), close=True)
        return False

    # ---- dispatch -----------------------------------------------------------------------------

    def do_any(self):
        try:
            body = self.request_body()
        except BadRequest as problem:
            self.close_connection = True
            self.send_json(400, error_body(400, "invalid_request_error", str(problem)), close=True)
            return
        if not self.authorized():
            self.refuse(body, 401, "authentication_error", "Unauthorized", bearer=True)
            return
        upstream = UnixHTTPConnection(self.upstream_path)
        try:
            upstream.connect()
        except OSError:
            self.refuse(body, 502, "bad_gateway", "The model server is not reachable.")
            return
        try:
            self.forward(upstream, body)
        finally:
            upstream.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_any

    # ---- request body -------------------------------------------------------------------------

    def request_body(self):
        """An iterator over the request body's bytes, and how upstream should be told its length."""
        encodings = [
            part.strip().lower()
            for value in self.headers.get_all("Transfer-Encoding") or []
            for part in value.split(",")
            if part.strip()
        ]
        lengths = {value.strip() for value in self.headers.get_all("Content-Length") or []}
        if encodings:
            # Both, or another coding than chunked, is how requests get smuggled past a proxy.
            if encodings != ["chunked"] or lengths:
                raise BadRequest("Unsupported Transfer-Encoding / Content-Length combination.")
            return Body(self.read_chunked(), None)
        if not lengths:
            return Body(iter(()), 0, has_length_header=False)
        if len(lengths) != 1:
            raise BadRequest("Conflicting Content-Length headers.")
        text = lengths.pop()
        if not text.isdigit():
            raise BadRequest("Invalid Content-Length.")
        length = int(text)
        return Body(self.read_exactly(length), length)

    def client_read(self, read, limit):
        # A client that vanishes or stalls mid-body is not the upstream's failure.
        try:
            return read(limit)
        except OSError:
            raise ClientGone()

    def read_exactly(self, length):
        remaining = length
        while remaining > 0:
            data = self.client_read(self.rfile.read, min(CHUNK, remaining))
            if not data:
                raise ClientGone()
            remaining -= len(data)
            yield data

    def read_chunked(self):
        # A malformed chunk is treated like a client that went away: the connection is closed.
        while True:
            line = self.client_read(self.rfile.readline, 1026)
            if not line.endswith(b"\n"):
                raise ClientGone()
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ClientGone()
            if size == 0:
                # Trailers are dropped; read up to the blank line that ends the message.
                while True:
                    trailer = self.client_read(self.rfile.readline, 65537)
                    if not trailer.endswith(b"\n"):
                        raise ClientGone()
                    if trailer in (b"\r\n", b"\n"):
                        return
            yield from self.read_exactly(size)
            if self.client_read(self.rfile.readline, 3) not in (b"\r\n", b"\n"):
                raise ClientGone()

    # ---- forwarding ---------------------------------------------------------------------------

    def forward(self, upstream, body):
        upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        dropped = self.connection_tokens(self.headers)
        for name, value in self.headers.items():
            lower = name.lower()
            if lower in dropped or lower == "content-length":
                continue
            upstream.putheader(name, value)
        if self.headers.get("Host") is None:
            # An HTTP/1.0 client may send none; the server's HTTP/1.1 parser requires one.
            upstream.putheader("Host", "localhost")
        if body.length is None:
            upstream.putheader("Transfer-Encoding", "chunked")
        elif body.has_length_header:
            upstream.putheader("Content-Length", str(body.length))
        # One upstream connection per request: a Unix socket connect costs microseconds, and no
        # pooled connection can then be closed under us by the server's keep-alive timeout.
        upstream.putheader("Connection", "close")
        try:
            upstream.endheaders()
            try:
                for data in body.chunks:
                    if body.length is None:
                        upstream.send(b"%x\r\n%s\r\n" % (len(data), data))
                    else:
                        upstream.send(data)
                if body.length is None:
                    upstream.send(b"0\r\n\r\n")
            except ClientGone:
                self.close_connection = True
                return
            response = upstream.getresponse()
        except (OSError, http.client.HTTPException) as error:
            # The server went away before answering (a crash, or a stop), possibly while the body
            # was still coming: what is left of it would be read as the next request, so close.
            self.close_connection = True
            if isinstance(error, http.client.HTTPException):
                message = "The model server sent an invalid response."
            else:
                message = "The model server closed the connection."
            self.send_json(502, error_body(502, "bad_gateway", message))
            return
        self.relay(response)

    def relay(self, response):
        no_body = (
            self.command == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200
        )
        upstream_length = response.getheader("Content-Length")
        chunked = not no_body and upstream_length is None
        if chunked and self.request_version != "HTTP/1.1":
            # An HTTP/1.0 client cannot read chunks: the end of the connection ends the body.
            self.close_connection = True
            chunked = False

        self.send_response_only(response.status, response.reason)
        dropped = self.connection_tokens(response.msg)
        for name, value in response.msg.items():
            if name.lower() not in dropped:
                self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if no_body:
            return
        try:
            # read1 returns what has arrived, so an SSE stream is passed on event by event.
            while True:
                data = response.read1(CHUNK)
                if not data:
                    break
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.wfile.write(data)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (OSError, http.client.HTTPException):
            # Either side went away mid-body; the status is already sent, so only the connection
            # can tell the client. Closing upstream (the caller does) makes the server abort.
            self.close_connection = True
            return
        if response.length:
            # The server closed before the Content-Length it announced: the client must see it cut.
            self.close_connection = True

    @staticmethod
    def connection_tokens(headers):
        names = set(HOP_BY_HOP)
        for value in headers.get_all("Connection") or []:
            names.update(token.strip().lower() for token in value.split(",") if token.strip())
        names.discard("authorization")
        return names

    # ---- answers of our own -------------------------------------------------------------------

    def refuse(self, body, status, kind, message, bearer=False):
        drained = self.drain(body)
        if not drained:
            self.close_connection = True
        headers = {"WWW-Authenticate": "Bearer"} if bearer else {}
        payload = error_body(status, kind, message)
        self.send_json(status, payload, close=not drained, headers=headers)
        if not drained:
            self.linger()

    def drain(self, body):
        if body.length is not None and body.length > REFUSED_BODY_DRAIN:
            return False
        seen = 0
        try:
            for data in body.chunks:
                seen += len(data)
                if seen > REFUSED_BODY_DRAIN:
                    return False
        except ClientGone:
            return False
        return True

    def linger(self):
        """Closes gently after a refusal whose body is still coming, so the client can read it."""
        deadline = time.monotonic() + LINGER_SECONDS
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self.connection.settimeout(left)
                if not self.connection.recv(CHUNK):
                    return
        except OSError:
            pass

    def send_json(self, status, payload, close=False, headers=None):
        try:
            self.send_response_only(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if close or self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except OSError:
            self.close_connection = True

    # ---- quiet --------------------------------------------------------------------------------

    def log_message(self, format, *args):
        # The server logs requests itself; a second log per request only adds noise.
        pass


class Body:
    def __init__(self, chunks, length, has_length_header=True):
        self.chunks = chunks
        self.length = length
        self.has_length_header = has_length_header


class FrontServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        # HTTPServer.server_bind resolves its own name (getfqdn), which can hang on a cluster's DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port

    def handle_error(self, request, client_address):
        # A client that disconnects is routine; anything else would be a bug worth one line.
        error = sys.exc_info()[1]
        if isinstance(error, (OSError, ClientGone)):
            return
        print("%s: error while serving a request: %r" % (PROG, error), file=sys.stderr, flush=True)


def parse_listen(value):
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % value)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def make_server(listen, upstream_path, key):
    host, port = listen
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _, _, _, address = infos[0]

    handler = type(
        "BoundFrontHandler",
        (FrontHandler,),
        {
            "expected_authorization": b"Bearer " + key.encode("utf-8"),
            "upstream_path": upstream_path,
        },
    )
    server_class = type("BoundFrontServer", (FrontServer,), {"address_family": family})
    return server_class(address[:2], handler)


def main(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", required=True, type=parse_listen, help="HOST:PORT to serve on")
    parser.add_argument("--upstream-unix", required=True, help="Unix socket of the model server")
    parser.add_argument(
        "--key-env",
        default="VLLM_API_KEY",
        help="environment variable holding the API key (default: VLLM_API_KEY)",
    )
    args = parser.parse_args(argv)

    key = os.environ.get(args.key_env, "")
    if key.strip() == "":
        message = "%s is empty or unset; refusing to serve without a key" % args.key_env
        print("%s: %s" % (PROG, message), file=sys.stderr)
        return 2

    try:
        server = make_server(args.listen, args.upstream_unix, key)
    except OSError as error:
        host, port = args.listen
        print("%s: cannot listen on %s:%d: %s" % (PROG, host, port, error), file=sys.stderr)
        return 1

    def stop(signum, frame):
        # shutdown() waits for serve_forever to return, so it cannot run on serve_forever's thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    bound = server.server_address
    print(
        "%s: listening on %s:%d, every request needs the key in %s, forwarding to unix:%s"
        % (PROG, bound[0], bound[1], args.key_env, args.upstream_unix),
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
