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

One event loop serves every connection (asyncio streams), so a crowd of idle or slow clients costs
memory, not threads. Anyone who reaches the port can open connections, so they are bounded: at most
--max-connections at once, and when that is full a new connection pushes out the oldest one that
has never shown the key, so keyless connections cannot lock the keyholder (the proxy) out. A
connection that has not shown the key must send a complete request head within --head-timeout,
however slowly it trickles bytes; one that has may idle for --idle-timeout between requests.

The published port can be squatted: another user may bind it first, on this or another address, and
answer 200 to anything. So the front proves it holds the key without ever receiving it:
`GET /aiplane/proof?nonce=<nonce>` needs no key and answers the hex HMAC-SHA256 of
"aiplane-proof:<nonce>" under the key. The prober sends a fresh nonce and sends the key only to a
front whose proof matches; a squatter, not holding the key, cannot answer.
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time

PROG = "auth_front"
CHUNK = 64 * 1024
# A request that is refused still has its body read (up to this much) so that the refusal arrives
# on a connection the client can read, instead of being cut off by a reset.
REFUSED_BODY_DRAIN = 1024 * 1024
LINGER_SECONDS = 2
HEAD_LIMIT = 64 * 1024
MAX_HEADERS = 100
# Request bodies up to this size are read whole before going upstream: one write instead of two,
# and a request that can be sent again if a pooled connection turns out to be closed.
BUFFERED_BODY = 64 * 1024
# uvicorn (vLLM) and Node close an idle keep-alive connection after 5 s; a pooled connection is
# dropped well before, so a request is rarely sent on a connection the server is closing.
POOL_IDLE_SECONDS = 2.0
POOL_MAX_IDLE = 128
# Past this much unsent output, stop reading the other side until the receiver catches up.
WRITE_HIGH = 256 * 1024

DEFAULT_MAX_CONNECTIONS = 512
# Keyless connections are what a flood is made of; the proxy sends its head in one write.
DEFAULT_HEAD_TIMEOUT = 3.0
DEFAULT_IDLE_TIMEOUT = 300.0
# After SIGTERM, requests in flight may finish for this long; then every connection is cut.
DEFAULT_DRAIN_TIMEOUT = 3.0
PARENT_POLL_SECONDS = 0.5

# RFC 9110 7.6.1, plus Expect: a 100 Continue is the front's to give.
HOP_BY_HOP = frozenset(
    [
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"expect",
    ]
)
REQUEST_DROPPED = HOP_BY_HOP | {b"content-length"}

TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
TOKEN_CHARS = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
VISIBLE_CHARS = bytes(range(0x21, 0x7F))
# A header block is checked strictly: a bare CR or LF, a NUL, or a name that is not a token (a space
# before the colon) is how requests get smuggled past a proxy whose parser reads them differently
# from the server's. Counting and bytes.translate do it in C; a regex over the block cost several
# times as much on every request.


def dropping(names):
    """A pattern that removes the lines of these headers from a checked header block."""
    alternatives = b"|".join(re.escape(name) for name in sorted(names))
    return re.compile(rb"(?im)^(?:" + alternatives + rb"):[^\r\n]*\r\n")


def fields_named(names):
    """A pattern that finds (name, value) of these headers in a checked header block."""
    alternatives = b"|".join(re.escape(name) for name in sorted(names))
    return re.compile(rb"(?im)^(" + alternatives + rb"):[ \t]*([^\r\n]*?)[ \t]*\r\n")


RESPONSE_FRAMING = fields_named([b"content-length", b"transfer-encoding", b"connection"])
RESPONSE_DROP = dropping(HOP_BY_HOP)
# A whole usual response head in one pass: HTTP/1.1, a status with a body, one Content-Length, and
# no hop-by-hop header (Transfer-Encoding, Connection, ...) that would need the general path.
OTHER_FIELD = (
    rb"\r\n(?!(?i:"
    + b"|".join(re.escape(name) for name in sorted(REQUEST_DROPPED))
    + rb"):)"
    + TOKEN
    + rb":[^\r\n\x00]*"
)
PLAIN_RESPONSE = re.compile(
    rb"HTTP/1\.1 (?!204|304)[2-5][0-9][0-9](?: [^\r\n\x00]*)?(?:"
    + OTHER_FIELD
    + rb")*\r\n(?i:content-length):[ \t]*([0-9]{1,18})[ \t]*(?:"
    + OTHER_FIELD
    + rb")*\Z"
)
RESPONSE_DROP_LENGTH = dropping(HOP_BY_HOP | {b"content-length"})
# The hop-by-hop lines a usual answer may still carry and lose without anything else changing: a
# Node or Python server's "Connection: keep-alive" (the default of HTTP/1.1 said out loud) and its
# Keep-Alive parameters. Taken out before the PLAIN_RESPONSE match, they no longer send every such
# answer (the simulator's, for one) down the general path, which costs several times as much.
KEEP_ALIVE_LINES = re.compile(rb"\r\n(?i:connection:[ \t]*keep-alive[ \t]*|keep-alive:[^\r\n\x00]*)(?=\r\n|\Z)")
HEX = re.compile(rb"[0-9A-Fa-f]{1,16}\Z")
STATUS = re.compile(rb"HTTP/1\.([01]) ([1-9][0-9][0-9])(?: ([^\r\n\x00]*))?\Z")
PROOF_PATH = b"/aiplane/proof"
PROOF_TARGET = re.compile(rb"/aiplane/proof\?nonce=([A-Za-z0-9_-]{16,128})\Z")
PROOF_CONTEXT = b"aiplane-proof:"


def proof_of(key, nonce):
    """What the prober expects for a nonce: domain-separated, so the answers serve no other use."""
    return hmac.new(key, PROOF_CONTEXT + nonce, hashlib.sha256).hexdigest().encode()


class BadRequest(Exception):
    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


class Truncated(Exception):
    """A body ended early or broke its framing; whose fault it is depends on the side."""


class BadResponse(Exception):
    pass


class ClientGone(Exception):
    pass


def error_body(status, kind, message):
    return json.dumps({"error": {"message": message, "type": kind, "code": status}}).encode()


def is_token(text):
    return bool(text) and not text.translate(None, TOKEN_CHARS)


def split_lines(head):
    """The start line, and the header lines without their CRLF (checked)."""
    start, lines = split_block(head)
    for line in lines:
        name, colon, _ = line.partition(b":")
        if not colon or not is_token(name):
            raise BadRequest("Malformed header field.")
    return start, lines


def split_block(head):
    """split_lines without the check of each line's name, for a caller that checks it as it reads the line."""
    at = head.find(b"\r\n")
    if at < 0:
        return head, []
    block = head[at + 2 :]
    crlf = block.count(b"\r\n")
    if crlf + 1 > MAX_HEADERS:
        raise BadRequest("Too many header fields.", 431)
    if block.count(b"\r") != crlf or block.count(b"\n") != crlf or b"\x00" in block:
        raise BadRequest("Malformed header field.")
    return head[:at], block.split(b"\r\n")


def split_head(head):
    """The start line, and the header block with each line ending in CRLF (checked)."""
    start, lines = split_lines(head)
    if not lines:
        return start, b""
    lines.append(b"")
    return start, b"\r\n".join(lines)


def kept_fields(block, dropped, pattern, listed):
    """The header block without hop-by-hop lines, nor those the Connection header names."""
    if not listed:
        return pattern.sub(b"", block)
    return dropping(dropped | set(listed)).sub(b"", block)


def tokens(value):
    return [part.strip().lower() for part in value.split(b",") if part.strip()]


class Input:
    """A stream's bytes, read into one buffer that the parsers consume from the front."""

    __slots__ = ("reader", "buf", "eof")

    def __init__(self, reader):
        self.reader = reader
        self.buf = bytearray()
        self.eof = False

    async def fill(self):
        if self.eof:
            return False
        try:
            data = await self.reader.read(CHUNK)
        except OSError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    async def head(self):
        """The next message head without its blank line, None at a clean end, Truncated mid-head."""
        buf = self.buf
        start = 0
        while True:
            # RFC 9112 2.2: an empty line before a request line is to be ignored.
            while buf[:2] == b"\r\n":
                del buf[:2]
            end = buf.find(b"\r\n\r\n", start)
            if end >= 0:
                break
            if len(buf) >= HEAD_LIMIT:
                raise BadRequest("Request header fields too large.", 431)
            start = max(0, len(buf) - 3)
            if not await self.fill():
                if buf:
                    raise Truncated()
                return None
        if end + 4 > HEAD_LIMIT:
            raise BadRequest("Request header fields too large.", 431)
        head = bytes(buf[:end])
        del buf[: end + 4]
        return head

    async def chunked(self, emit, flush):
        """Decodes a chunked body: emit(bytes) per piece, flush() before every wait for more."""
        buf = self.buf
        while True:
            at = buf.find(b"\r\n")
            while at < 0:
                if len(buf) > 4096:
                    raise Truncated()
                await flush()
                if not await self.fill():
                    raise Truncated()
                at = buf.find(b"\r\n")
            size_text = bytes(buf[:at]).split(b";", 1)[0].strip()
            if not HEX.match(size_text):
                raise Truncated()
            size = int(size_text, 16)
            del buf[: at + 2]
            if size == 0:
                # Trailers are dropped; read up to the blank line that ends the message.
                while True:
                    at = buf.find(b"\r\n")
                    while at < 0:
                        if len(buf) > HEAD_LIMIT:
                            raise Truncated()
                        await flush()
                        if not await self.fill():
                            raise Truncated()
                        at = buf.find(b"\r\n")
                    del buf[: at + 2]
                    if at == 0:
                        return
            while size:
                if not buf:
                    await flush()
                    if not await self.fill():
                        raise Truncated()
                take = min(size, len(buf))
                emit(bytes(buf[:take]))
                del buf[:take]
                size -= take
            while len(buf) < 2:
                await flush()
                if not await self.fill():
                    raise Truncated()
            if buf[:2] != b"\r\n":
                raise Truncated()
            del buf[:2]


class ClientReader(asyncio.StreamReader):
    """A client's stream that reports its end at once, even while nobody is reading it.

    While a request runs upstream nothing reads the client, so without this a client that leaves
    would be noticed only at the next write: a model working on a prompt nobody waits for.
    """

    conn = None

    def feed_eof(self):
        super().feed_eof()
        if self.conn is not None:
            self.conn.client_ended()

    def set_exception(self, exc):
        super().set_exception(exc)
        if self.conn is not None:
            self.conn.client_ended()


def small_reads(transport):
    """Reads of CHUNK at most, from the heap instead of a fresh mapping.

    asyncio's socket transports receive into a new bytes of max_size (256 KiB) on every read: above
    glibc's mmap threshold, so each read costs an mmap, an mremap and a munmap (three system calls
    and a page fault) on top of the recv. At CHUNK the buffer comes from malloc's heap.
    """
    if hasattr(transport, "max_size"):
        transport.max_size = CHUNK


class Upstream:
    """One connection to the model server's socket."""

    __slots__ = ("writer", "transport", "inp", "idle_since")

    def __init__(self, reader, writer):
        self.writer = writer
        self.transport = writer.transport
        self.inp = Input(reader)
        self.idle_since = 0.0

    def usable(self):
        return not self.transport.is_closing() and not self.inp.eof and not self.inp.reader.at_eof()

    def abort(self):
        self.transport.abort()


class Front:
    def __init__(self, upstream, key, max_connections, head_timeout, idle_timeout):
        # ("unix", path) or ("tcp", (host, port)): Qdrant cannot listen on a Unix socket.
        self.upstream = upstream
        self.key = key.encode("utf-8")
        self.expected_authorization = b"Bearer " + key.encode("utf-8")
        self.max_connections = max_connections
        self.head_timeout = head_timeout
        self.idle_timeout = idle_timeout
        # Insertion order is age: eviction takes the first keyless one.
        self.connections = {}
        self.pool = []
        self.sweeper = None
        self.loop = None

    # ---- client connections -------------------------------------------------------------------

    async def on_client(self, reader, writer):
        small_reads(writer.transport)
        conn = Connection(self, reader, writer)
        reader.conn = conn
        if len(self.connections) >= self.max_connections and not self.evict():
            # Full of connections that all showed the key: only the keyholder can do that.
            writer.transport.abort()
            return
        self.connections[conn] = None
        try:
            await conn.serve()
        except (OSError, ClientGone, Truncated):
            pass
        except Exception as error:  # a bug: one line, and the connection goes
            print("%s: error while serving a request: %r" % (PROG, error), file=sys.stderr, flush=True)
        finally:
            self.connections.pop(conn, None)
            conn.close()

    def evict(self):
        for conn in self.connections:
            if not conn.authed:
                del self.connections[conn]
                conn.transport.abort()
                return True
        return False

    # ---- upstream pool ------------------------------------------------------------------------

    def pooled(self):
        """A kept-alive upstream connection that is still good, or None."""
        pool = self.pool
        if pool:
            now = self.loop.time()
            while pool:
                up = pool.pop()
                if now - up.idle_since < POOL_IDLE_SECONDS and up.usable():
                    return up
                up.abort()
        return None

    async def connect(self):
        """A new upstream connection; OSError when the server is not there."""
        kind, where = self.upstream
        if kind == "unix":
            reader, writer = await asyncio.open_unix_connection(where, limit=CHUNK)
        else:
            reader, writer = await asyncio.open_connection(where[0], where[1], limit=CHUNK)
        small_reads(writer.transport)
        return Upstream(reader, writer)

    def release(self, up):
        if len(self.pool) >= POOL_MAX_IDLE or not up.usable() or up.inp.buf:
            up.abort()
            return
        up.idle_since = self.loop.time()
        self.pool.append(up)
        if self.sweeper is None:
            self.sweeper = self.loop.call_later(POOL_IDLE_SECONDS, self.sweep)

    def sweep(self):
        self.sweeper = None
        now = self.loop.time()
        pool = self.pool
        while pool and now - pool[0].idle_since >= POOL_IDLE_SECONDS:
            pool.pop(0).abort()
        if pool:
            self.sweeper = self.loop.call_later(POOL_IDLE_SECONDS, self.sweep)

    async def drain(self, timeout):
        """Until no request is in flight upstream, for at most `timeout` seconds."""
        deadline = self.loop.time() + timeout
        while self.loop.time() < deadline and any(conn.inflight is not None for conn in self.connections):
            await asyncio.sleep(0.05)

    def close_all(self):
        for conn in list(self.connections):
            conn.transport.abort()
        for up in self.pool:
            up.abort()
        self.pool = []


class Connection:
    __slots__ = (
        "front",
        "loop",
        "inp",
        "writer",
        "transport",
        "authed",
        "deadline",
        "timer",
        "inflight",
        "method",
        "v11",
    )

    def __init__(self, front, reader, writer):
        self.front = front
        self.loop = front.loop
        self.inp = Input(reader)
        self.writer = writer
        self.transport = writer.transport
        # Set for good once a request shows the key; only keyless connections are evicted.
        self.authed = False
        self.deadline = None
        self.timer = None
        # The upstream connection of the request in flight: closed if the client leaves.
        self.inflight = None
        self.method = b""
        self.v11 = True

    # ---- deadlines: one timer per connection, moved only when a deadline comes earlier ----------

    def set_deadline(self, seconds):
        when = self.loop.time() + seconds
        self.deadline = when
        timer = self.timer
        if timer is None or timer.when() > when:
            if timer is not None:
                timer.cancel()
            self.timer = self.loop.call_at(when, self.on_timer)

    def on_timer(self):
        self.timer = None
        deadline = self.deadline
        if deadline is None:
            return
        if self.loop.time() >= deadline:
            self.transport.abort()
        else:
            self.timer = self.loop.call_at(deadline, self.on_timer)

    def close(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.inflight is not None:
            self.inflight.abort()
            self.inflight = None
        transport = self.transport
        if transport.is_closing():
            return
        # close() sends what is still buffered (the end of an answer) first; a client that does not
        # read it keeps the socket for the idle time at most.
        transport.close()
        if transport.get_write_buffer_size():
            self.loop.call_later(self.front.idle_timeout, transport.abort)

    # ---- the client's disconnect, while a request runs upstream ----------------------------------

    def client_ended(self):
        # An HTTP client does not half-close while it waits for an answer (nginx reads it the same
        # way): the end of its stream means it left, and the server should stop working for it.
        if self.inflight is not None:
            self.inflight.abort()
            self.inflight = None
            self.transport.abort()

    # ---- writing to the client --------------------------------------------------------------------

    async def send(self, data):
        transport = self.transport
        if transport.is_closing():
            raise ClientGone()
        transport.write(data)
        if transport.get_write_buffer_size() > WRITE_HIGH:
            # A client that stops reading holds the answer (and the server) for at most the idle time.
            self.set_deadline(self.front.idle_timeout)
            try:
                await self.writer.drain()
            except OSError:
                raise ClientGone()
            self.deadline = None

    def send_json(self, status, payload, close, headers=b""):
        reason = {400: b"Bad Request", 401: b"Unauthorized", 431: b"Request Header Fields Too Large"}
        head = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s%s\r\n" % (
            status,
            reason.get(status, b"Bad Gateway" if status == 502 else b"Error"),
            len(payload),
            headers,
            b"Connection: close\r\n" if close else b"",
        )
        if not self.transport.is_closing():
            self.transport.write(head if self.method == b"HEAD" else head + payload)

    async def linger(self):
        """Closes gently after a refusal whose body is still coming, so the client can read it."""
        self.set_deadline(LINGER_SECONDS)
        try:
            if self.transport.can_write_eof():
                self.transport.write_eof()
            while await self.inp.fill():
                del self.inp.buf[:]
        except OSError:
            pass

    # ---- requests -------------------------------------------------------------------------------

    async def serve(self):
        front = self.front
        while True:
            self.set_deadline(front.idle_timeout if self.authed else front.head_timeout)
            try:
                head = await self.inp.head()
            except BadRequest as problem:
                self.method = b""
                self.send_json(problem.status, error_body(problem.status, "invalid_request_error", str(problem)), True)
                await self.linger()
                return
            if head is None:
                return
            try:
                keep = await self.handle(head)
            except BadRequest as problem:
                self.send_json(problem.status, error_body(problem.status, "invalid_request_error", str(problem)), True)
                await self.linger()
                return
            if not keep:
                return

    async def handle(self, head):
        """Serves one request; True when the connection can carry another."""
        front = self.front
        request_line, lines = split_block(head)

        authorizations = []
        lengths = set()
        encodings = []
        connection_tokens = ()
        expect_continue = False
        has_host = False
        # One pass: each line checked (a name that is a token, then a colon: split_lines' check), the
        # headers the front acts on read, hop-by-hop ones left out, the others kept as they came.
        kept = []
        for line in lines:
            name, colon, value = line.partition(b":")
            if not colon or not name or name.translate(None, TOKEN_CHARS):
                raise BadRequest("Malformed header field.")
            name = name.lower()
            if name in REQUEST_DROPPED:
                value = value.strip(b" \t")
                if name == b"content-length":
                    lengths.add(value)
                elif name == b"transfer-encoding":
                    encodings.extend(tokens(value))
                elif name == b"connection":
                    connection_tokens = connection_tokens + tuple(tokens(value))
                elif name == b"expect":
                    expect_continue = value.lower() == b"100-continue"
                continue
            if name == b"authorization":
                authorizations.append(value.strip(b" \t"))
            elif name == b"host":
                has_host = True
            kept.append(line)

        start = request_line.split(b" ")
        if len(start) != 3:
            raise BadRequest("Malformed request line.")
        method, target, version = start
        self.method = method
        if version == b"HTTP/1.1":
            keep_alive = self.v11 = True
        elif version == b"HTTP/1.0":
            keep_alive = self.v11 = False
        else:
            raise BadRequest("Unsupported HTTP version.")
        if not is_token(method) or not target or target.translate(None, VISIBLE_CHARS):
            raise BadRequest("Malformed request line.")
        if b"close" in connection_tokens:
            keep_alive = False

        length = 0
        has_length = False
        chunked = False
        if encodings:
            # Both, or another coding than chunked, is how requests get smuggled past a proxy.
            if encodings != [b"chunked"] or lengths:
                raise BadRequest("Unsupported Transfer-Encoding / Content-Length combination.")
            chunked = True
            length = None
        elif lengths:
            if len(lengths) != 1:
                raise BadRequest("Conflicting Content-Length headers.")
            text = lengths.pop()
            if not text.isdigit():
                raise BadRequest("Invalid Content-Length.")
            length = int(text)
            has_length = True

        if not authorizations and target.split(b"?", 1)[0] == PROOF_PATH:
            return await self.prove(method, target, length, keep_alive)
        authorized = len(authorizations) == 1 and hmac.compare_digest(
            authorizations[0], front.expected_authorization
        )
        if not authorized:
            if expect_continue:
                # Only a client holding the key is invited to send its body.
                self.send_json(401, error_body(401, "authentication_error", "Unauthorized"), True, b"WWW-Authenticate: Bearer\r\n")
                await self.linger()
                return False
            return await self.refuse(length, keep_alive, 401, "authentication_error", "Unauthorized", b"WWW-Authenticate: Bearer\r\n")
        self.authed = True
        if expect_continue and length != 0:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

        # Connection may name more headers to drop; close and keep-alive are only its own options.
        listed = [name for name in connection_tokens if name not in HOP_BY_HOP and name != b"close"]
        listed = frozenset(name for name in listed if name != b"authorization")
        if listed:
            kept = [line for line in kept if line.partition(b":")[0].lower() not in listed]
        kept.append(b"")
        parts = [method, b" ", target, b" HTTP/1.1\r\n", b"\r\n".join(kept) if len(kept) > 1 else b""]
        if not has_host:
            # An HTTP/1.0 client may send none; the server's HTTP/1.1 parser requires one.
            parts.append(b"Host: localhost\r\n")
        if chunked:
            parts.append(b"Transfer-Encoding: chunked\r\n")
        elif has_length:
            parts.append(b"Content-Length: %d\r\n" % length)
        parts.append(b"\r\n")

        # The body: small ones whole (replayable), others streamed on a fresh connection.
        buffered = not chunked and length <= BUFFERED_BODY
        if buffered:
            buf = self.inp.buf
            while len(buf) < length:
                self.set_deadline(front.idle_timeout)
                if not await self.inp.fill():
                    return False
            parts.append(bytes(buf[:length]))
            del buf[:length]
        self.deadline = None
        request = b"".join(parts)

        for attempt in (0, 1):
            try:
                up = front.pooled() if buffered and attempt == 0 else None
                reused = up is not None
                if up is None:
                    up = await front.connect()
            except OSError:
                if buffered:
                    return self.answer(502, "bad_gateway", "The model server is not reachable.", keep_alive)
                return await self.refuse(length, keep_alive, 502, "bad_gateway", "The model server is not reachable.")
            try:
                up.transport.write(request)
                if not buffered:
                    if not await self.stream_body(up, length):
                        up.abort()
                        return False
                self.inflight = up
                try:
                    head = await up.inp.head()
                except (BadRequest, Truncated):
                    head = None
                if head is None:
                    self.inflight = None
                    up.abort()
                    if self.transport.is_closing():
                        return False
                    if reused and buffered and not up.inp.buf:
                        # A pooled connection the server closed just as it was reused.
                        continue
                    self.send_json(502, error_body(502, "bad_gateway", "The model server closed the connection."), True)
                    return False
                try:
                    return await self.relay(up, head, keep_alive)
                finally:
                    self.inflight = None
            except BadResponse:
                up.abort()
                self.send_json(502, error_body(502, "bad_gateway", "The model server sent an invalid response."), True)
                return False
            except (ClientGone, Truncated, OSError):
                up.abort()
                return False
        return False

    async def stream_body(self, up, length):
        """Copies a large or chunked request body upstream; False when the client broke off."""
        front = self.front
        inp = self.inp
        transport = up.transport

        async def backpressure():
            if transport.get_write_buffer_size() > WRITE_HIGH:
                await up.writer.drain()

        try:
            if length is None:
                pending = []

                async def flush():
                    if pending:
                        data = b"".join(pending)
                        del pending[:]
                        transport.write(b"%x\r\n%s\r\n" % (len(data), data))
                        await backpressure()
                    self.set_deadline(front.idle_timeout)

                await inp.chunked(pending.append, flush)
                await flush()
                transport.write(b"0\r\n\r\n")
            else:
                remaining = length
                while remaining:
                    buf = inp.buf
                    if not buf:
                        self.set_deadline(front.idle_timeout)
                        if not await inp.fill():
                            return False
                    take = min(remaining, len(buf))
                    transport.write(bytes(buf[:take]))
                    del buf[:take]
                    remaining -= take
                    await backpressure()
        except Truncated:
            return False
        finally:
            self.deadline = None
        return True

    async def relay(self, up, head, keep_alive):
        """Passes the server's answer on; True when both connections can carry another request."""
        inp = up.inp
        to_client_chunked = False
        plain = None
        if self.method != b"HEAD" and head.count(b"\r\n") < MAX_HEADERS:
            plain = PLAIN_RESPONSE.match(head)
            if plain is None and b"eep-" in head:
                plain = PLAIN_RESPONSE.match(KEEP_ALIVE_LINES.sub(b"", head))
                if plain is not None:
                    head = plain.string
        if plain is not None:
            # The usual answer (HTTP/1.1, a Content-Length, nothing hop-by-hop but the keep-alive the
            # lines above took out) goes on as it came.
            mode = "length"
            length = int(plain.group(1))
            reusable = True
            parts = [head, b"\r\n\r\n" if keep_alive else b"\r\nConnection: close\r\n\r\n"]
        else:
            while True:
                try:
                    status_line, block = split_head(head)
                except BadRequest:
                    raise BadResponse()
                match = STATUS.match(status_line)
                if match is None:
                    raise BadResponse()
                minor, code, reason = match.groups()
                status = int(code)
                if status >= 200:
                    break
                # An interim answer (103 Early Hints and the like) is the server's business; skip it.
                try:
                    head = await inp.head()
                except (BadRequest, Truncated):
                    head = None
                if head is None:
                    raise BadResponse()

            lengths = set()
            chunked = False
            encoded = False
            connection_tokens = ()
            for name, value in RESPONSE_FRAMING.findall(block):
                name = name.lower()
                if name == b"content-length":
                    lengths.add(value)
                elif name == b"transfer-encoding":
                    encoded = True
                    chunked = tokens(value)[-1:] == [b"chunked"]
                elif name == b"connection":
                    connection_tokens = connection_tokens + tuple(tokens(value))
            reusable = minor == b"1" and b"close" not in connection_tokens

            no_body = self.method == b"HEAD" or status in (204, 304)
            length = None
            if no_body:
                mode = "none"
            elif encoded:
                mode = "chunked" if chunked else "close"
            elif lengths:
                text = lengths.pop()
                if lengths or not text.isdigit():
                    raise BadResponse()
                length = int(text)
                mode = "length"
            else:
                mode = "close"
            to_client_chunked = False
            if mode in ("chunked", "close"):
                if self.v11:
                    to_client_chunked = True
                else:
                    # An HTTP/1.0 client cannot read chunks: the end of the connection ends the body.
                    keep_alive = False

            listed = [name for name in connection_tokens if name not in HOP_BY_HOP and name != b"close"]
            if mode in ("chunked", "close"):
                kept = kept_fields(block, HOP_BY_HOP | {b"content-length"}, RESPONSE_DROP_LENGTH, listed)
            else:
                kept = kept_fields(block, HOP_BY_HOP, RESPONSE_DROP, listed)
            parts = [b"HTTP/1.1 ", code, b" ", reason or b"", b"\r\n", kept]
            if to_client_chunked:
                parts.append(b"Transfer-Encoding: chunked\r\n")
            if not keep_alive:
                parts.append(b"Connection: close\r\n")
            parts.append(b"\r\n")
        buf = inp.buf

        if mode == "none":
            await self.send(b"".join(parts))
            complete = True
        elif mode == "length":
            take = min(length, len(buf))
            if take:
                parts.append(bytes(buf[:take]))
                del buf[:take]
            remaining = length - take
            await self.send(b"".join(parts))
            while remaining:
                if not await inp.fill():
                    # The server closed before the Content-Length it announced: the client must see it cut.
                    up.abort()
                    return False
                take = min(remaining, len(buf))
                await self.send(bytes(buf[:take]))
                del buf[:take]
                remaining -= take
            complete = True
        elif mode == "chunked":
            pending = []
            await self.send(b"".join(parts))

            async def flush():
                # Called before every wait for the server: what has arrived goes out now, as one chunk.
                if pending:
                    data = b"".join(pending)
                    del pending[:]
                    await self.send(b"%x\r\n%s\r\n" % (len(data), data) if to_client_chunked else data)

            try:
                await inp.chunked(pending.append, flush)
            except Truncated:
                up.abort()
                await flush()
                return False
            await flush()
            if to_client_chunked:
                await self.send(b"0\r\n\r\n")
            complete = True
        else:
            data = bytes(buf)
            del buf[:]
            if data:
                parts.append(b"%x\r\n%s\r\n" % (len(data), data) if to_client_chunked else data)
            await self.send(b"".join(parts))
            while await inp.fill():
                data = bytes(buf)
                del buf[:]
                await self.send(b"%x\r\n%s\r\n" % (len(data), data) if to_client_chunked else data)
            if to_client_chunked:
                await self.send(b"0\r\n\r\n")
            complete = True
            reusable = False

        self.inflight = None
        if complete and reusable:
            self.front.release(up)
        else:
            up.abort()
        return keep_alive and not self.transport.is_closing()

    # ---- answers of our own -------------------------------------------------------------------

    async def prove(self, method, target, length, keep_alive):
        """The key proof (see the module's doc); counts as keyless, so it never spares a connection."""
        match = PROOF_TARGET.match(target)
        if method != b"GET" or match is None:
            message = "GET /aiplane/proof?nonce=<16-128 characters of A-Z a-z 0-9 _ ->"
            return await self.refuse(length, keep_alive, 400, "invalid_request_error", message)
        if not await self.drain(length):
            return False
        body = proof_of(self.front.key, match.group(1))
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: no-store\r\nContent-Length: %d\r\n%s\r\n" % (
            len(body),
            b"" if keep_alive else b"Connection: close\r\n",
        )
        if not self.transport.is_closing():
            self.transport.write(head + body)
        return keep_alive

    def answer(self, status, kind, message, keep_alive):
        self.send_json(status, error_body(status, kind, message), not keep_alive)
        return keep_alive

    async def refuse(self, length, keep_alive, status, kind, message, headers=b""):
        drained = await self.drain(length)
        self.send_json(status, error_body(status, kind, message), not (drained and keep_alive), headers)
        if not drained:
            await self.linger()
            return False
        return keep_alive

    async def drain(self, length):
        """Reads and drops a refused request's body, if it is small; False when it is not."""
        if length is not None and length > REFUSED_BODY_DRAIN:
            return False
        inp = self.inp
        # Bounded by the head deadline: a keyless client gets no more time for its body than for its head.
        self.set_deadline(self.front.head_timeout)
        if length is None:
            seen = [0]

            def count(data):
                seen[0] += len(data)
                if seen[0] > REFUSED_BODY_DRAIN:
                    raise Truncated()

            async def nothing():
                pass

            try:
                await inp.chunked(count, nothing)
            except Truncated:
                return False
            return True
        remaining = length
        while remaining:
            buf = inp.buf
            if not buf and not await inp.fill():
                return False
            take = min(remaining, len(buf))
            del buf[:take]
            remaining -= take
        return True


def parse_listen(value):
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % value)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def positive(kind):
    def parse(value):
        try:
            number = kind(value)
        except ValueError:
            number = 0
        if number <= 0:
            raise argparse.ArgumentTypeError("expected a positive number, got %r" % value)
        return number

    return parse


def files_needed(max_connections):
    # Each client connection may hold an upstream one too, plus the idle pool and the process's own.
    return 2 * max_connections + POOL_MAX_IDLE + 64


def raise_file_limit(wanted):
    """Raises the soft open-file limit to `wanted`; a problem to print when the hard limit is lower.

    Running out of descriptors mid-flood would refuse the keyholder too, so a cap the limit cannot
    hold is a start-up error rather than a surprise under load.
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return None
    if hard != resource.RLIM_INFINITY and hard < wanted:
        return (
            "the open-file hard limit (%d) is below the %d that --max-connections needs;"
            " lower AUTH_FRONT_MAX_CONNECTIONS or raise the limit" % (hard, wanted)
        )
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError) as error:
        return "cannot raise the open-file limit to %d: %s" % (wanted, error)
    return None


def on_loop_error(loop, context):
    # A client that disconnects is routine; anything else would be a bug worth one line.
    error = context.get("exception")
    if isinstance(error, (OSError, ClientGone, Truncated, asyncio.CancelledError)):
        return
    detail = ": %r" % (error,) if error is not None else ""
    print("%s: %s%s" % (PROG, context.get("message", "error"), detail), file=sys.stderr, flush=True)


async def serve(args, key):
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(on_loop_error)
    upstream = ("unix", args.upstream_unix) if args.upstream_unix else ("tcp", args.upstream_tcp)
    front = Front(upstream, key, args.max_connections, args.head_timeout, args.idle_timeout)
    front.loop = loop
    host, port = args.listen
    try:
        # What asyncio.start_server does, with a reader that reports the client's end (see there).
        def streams():
            return asyncio.StreamReaderProtocol(ClientReader(limit=CHUNK, loop=loop), front.on_client, loop=loop)

        server = await loop.create_server(
            streams,
            host or None,
            port,
            family=socket.AF_UNSPEC,
            backlog=min(args.max_connections, 4096),
            reuse_address=True,
        )
    except OSError as error:
        print("%s: cannot listen on %s:%d: %s" % (PROG, host, port, error), file=sys.stderr)
        return 1

    stopping = asyncio.Event()

    def stop():
        # The listener goes first: a front on its way out must not take new clients, and the port
        # is free for the next job the moment the job is stopped, however long the drain.
        server.close()
        stopping.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    bound = server.sockets[0].getsockname()
    print(
        "%s: listening on %s:%d, every request needs the key in %s, forwarding to %s"
        " (at most %d connections, %gs for a keyless request head, %gs idle)"
        % (
            PROG,
            bound[0],
            bound[1],
            args.key_env,
            "unix:" + args.upstream_unix if args.upstream_unix else "tcp:%s:%d" % args.upstream_tcp,
            args.max_connections,
            args.head_timeout,
            args.idle_timeout,
        ),
        file=sys.stderr,
        flush=True,
    )
    await stopping.wait()
    server.close()
    # Exits by the deadline even if the loop never gets back here (a wedged drain).
    exit_by(args.drain_timeout + 2.0)
    await front.drain(args.drain_timeout)
    front.close_all()
    # Let the connection tasks see their ends before the loop goes.
    await asyncio.sleep(0)
    return 0


def exit_by(seconds):
    def hard_exit():
        time.sleep(seconds)
        os._exit(0)

    threading.Thread(target=hard_exit, name="exit-by", daemon=True).start()


def die_with_parent():
    """Ends this process when its parent does, whatever tracks (or fails to track) the job's processes.

    A front whose supervisor is gone is an orphan nobody will stop: with SLURM's proctrack/linuxproc
    (which follows parent links) a front reparented to init was seen still holding its port two
    minutes after its job was cancelled. The kernel's parent-death signal covers Linux; a watchdog
    thread covers the rest, and the window before the prctl call (a parent already gone by then).
    Both end in SIGTERM, so the listener closes and the drain stays bounded.
    """
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog below still covers it

    if parent == 1 and "AIPLANE_JOB_PID" in os.environ:
        # Started by a job's script, so a parent of 1 means that script was gone before we started.
        print("%s: started after its job ended; not serving" % PROG, file=sys.stderr, flush=True)
        os._exit(0)

    def watch():
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        print("%s: parent process %d is gone; stopping" % (PROG, parent), file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def env_default(name, fallback):
    value = os.environ.get(name, "").strip()
    return value if value else fallback


def main(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", required=True, type=parse_listen, help="HOST:PORT to serve on")
    upstream = parser.add_mutually_exclusive_group(required=True)
    upstream.add_argument("--upstream-unix", help="Unix socket of the model server")
    upstream.add_argument(
        "--upstream-tcp",
        type=parse_listen,
        help="HOST:PORT of a server that cannot listen on a Unix socket (Qdrant); it must check the key itself",
    )
    parser.add_argument(
        "--key-env",
        default="VLLM_API_KEY",
        help="environment variable holding the API key (default: VLLM_API_KEY)",
    )
    parser.add_argument(
        "--max-connections",
        type=positive(int),
        default=env_default("AUTH_FRONT_MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS),
        help="client connections at once; when full, a new one evicts the oldest keyless one"
        " (env AUTH_FRONT_MAX_CONNECTIONS, default %d)" % DEFAULT_MAX_CONNECTIONS,
    )
    parser.add_argument(
        "--head-timeout",
        type=positive(float),
        default=env_default("AUTH_FRONT_HEAD_TIMEOUT", DEFAULT_HEAD_TIMEOUT),
        help="seconds a connection that has not shown the key has to send a whole request head"
        " (env AUTH_FRONT_HEAD_TIMEOUT, default %g)" % DEFAULT_HEAD_TIMEOUT,
    )
    parser.add_argument(
        "--idle-timeout",
        type=positive(float),
        default=env_default("AUTH_FRONT_IDLE_TIMEOUT", DEFAULT_IDLE_TIMEOUT),
        help="seconds a keyed connection may idle, between requests or with a client that stops reading"
        " (env AUTH_FRONT_IDLE_TIMEOUT, default %g)" % DEFAULT_IDLE_TIMEOUT,
    )
    parser.add_argument(
        "--drain-timeout",
        type=positive(float),
        default=env_default("AUTH_FRONT_DRAIN_TIMEOUT", DEFAULT_DRAIN_TIMEOUT),
        help="seconds requests in flight may finish after SIGTERM; the listener closes at once"
        " (env AUTH_FRONT_DRAIN_TIMEOUT, default %g)" % DEFAULT_DRAIN_TIMEOUT,
    )
    args = parser.parse_args(argv)

    key = os.environ.get(args.key_env, "")
    if key.strip() == "":
        message = "%s is empty or unset; refusing to serve without a key" % args.key_env
        print("%s: %s" % (PROG, message), file=sys.stderr)
        return 2

    problem = raise_file_limit(files_needed(args.max_connections))
    if problem is not None:
        print("%s: %s" % (PROG, problem), file=sys.stderr)
        return 2
    # The event loop's own warnings (a write to a connection already gone) are routine here.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    die_with_parent()
    return asyncio.run(serve(args, key))


if __name__ == "__main__":
    sys.exit(main())
