"""A tiny client for the aiplane gateway, shared by the examples.

Standard library only (Python 3.9+). Every example imports it from its own
folder, so each one still runs on its own: ``python3 examples/<name>.py``.
"""

import argparse
import json
import os
import signal
import sys
import time
import traceback
import urllib.error
import urllib.request

DEFAULT_GATEWAY = os.environ.get("AIPLANE_GATEWAY", "http://localhost:8001")

# Statuses a service passes through before it serves; anything else is final.
STARTING = ("pending", "configuring")
# Group statuses from which a group can still become fully `running`.
GROUP_STARTING = ("pending", "configuring", "partially_running")


class ExampleError(Exception):
    """A step of an example did not go as the API promises."""


class ApiError(ExampleError):
    """The gateway answered with an HTTP error status."""

    def __init__(self, method, url, status, body):
        self.method = method
        self.url = url
        self.status = status
        self.body = body
        detail = body.get("message", body) if isinstance(body, dict) else body
        super().__init__(f"{method} {url} -> HTTP {status}: {detail}")


def say(message=""):
    """Prints at once, so progress shows up even when the output is piped."""
    print(message, flush=True)


def parse_args(description, add_arguments=None):
    """The options every example shares, plus its own (``add_arguments``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--gateway",
        default=DEFAULT_GATEWAY,
        help="gateway base URL (default: $AIPLANE_GATEWAY or "
        "http://localhost:8001)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="seconds to wait for the service to become ready "
        "(default: 600; a real model download can take minutes)",
    )
    if add_arguments is not None:
        add_arguments(parser)
    return parser.parse_args()


class Gateway:
    """JSON over HTTP to ``<gateway>/api/v1``; every error status raises."""

    def __init__(self, base_url, request_timeout=120.0):
        base = base_url.rstrip("/")
        if not base.endswith("/api/v1"):
            base += "/api/v1"
        self.base = base
        self.request_timeout = request_timeout

    def request(self, method, path, body=None):
        """Returns the parsed JSON body, or the text for non-JSON answers."""
        url = self.base + path
        data = None
        headers = {"Accept": "application/json, text/plain"}
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(
            url, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(
                req, timeout=self.request_timeout
            ) as response:
                return _decode(response.headers, response.read())
        except urllib.error.HTTPError as error:
            failure = ApiError(
                method, url, error.code, _decode(error.headers, error.read())
            )
        except urllib.error.URLError as error:
            failure = ExampleError(
                f"{method} {url} failed: {error.reason} "
                "(is the gateway running? try `npm start`)"
            )
        except OSError as error:  # a timeout or a dropped connection
            failure = ExampleError(f"{method} {url} failed: {error!r}")
        # Raised outside the except blocks so that its context is the
        # failure a cleanup step was handling, not urllib's own error.
        raise failure

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, body=None):
        return self.request("POST", path, {} if body is None else body)

    def put(self, path, body=None):
        return self.request("PUT", path, {} if body is None else body)

    def delete(self, path):
        return self.request("DELETE", path)

    def create_service(self, recipe_name, config=None):
        body = {"recipe_name": recipe_name}
        if config:
            body["config"] = config
        return self.post("/services", body)

    def wait_for_service(self, service_id, timeout):
        """Polls ``/services/{id}/status`` until ``running``."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            status = self.get(f"/services/{service_id}/status")["status"]
            if status != last:
                say(f"  status: {status}")
                last = status
            if status == "running":
                return
            if status not in STARTING:
                raise ExampleError(
                    f"service {service_id} ended as {status!r} before it "
                    f"was ready. {self.logs_tail(service_id)}"
                )
            if time.monotonic() > deadline:
                raise ExampleError(
                    f"service {service_id} was still {status!r} after "
                    f"{timeout:.0f} s (raise --timeout?)"
                )
            time.sleep(1.0)

    def wait_for_group(self, group_id, timeout):
        """Polls ``/service-groups/{id}/status`` until every replica runs."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            status = self.get(f"/service-groups/{group_id}/status")
            overall = status["overall_status"]
            summary = (
                f"{overall} ({status['healthy_replicas']}/"
                f"{status['total_replicas']} replicas healthy)"
            )
            if summary != last:
                say(f"  status: {summary}")
                last = summary
            if overall == "running":
                return status
            if overall not in GROUP_STARTING:
                raise ExampleError(
                    f"group {group_id} is {overall!r}: it cannot become "
                    f"running. {self.logs_tail(group_id)}"
                )
            if time.monotonic() > deadline:
                raise ExampleError(
                    f"group {group_id} was still {overall!r} after "
                    f"{timeout:.0f} s (raise --timeout?)"
                )
            time.sleep(1.0)

    def logs_tail(self, service_id, lines=20):
        """The end of a service's logs, to show why it failed."""
        path = f"/services/{service_id}/logs?lines={lines}"
        try:
            logs = self.get(path)["logs"]
        except (ExampleError, KeyError, TypeError) as error:
            return f"(GET {path} failed: {error})"
        return f"The last lines of GET {path}:\n{logs.rstrip()}"

    def cancel_service(self, service_id):
        """The recommended stop: the record stays for later analysis."""
        answer = self.post(
            f"/services/{service_id}/status", {"status": "cancelled"}
        )
        say(f"Cancelled service {service_id}: {answer.get('message')}")

    def cancel_group(self, group_id):
        answer = self.post(
            f"/service-groups/{group_id}/status", {"status": "cancelled"}
        )
        say(
            f"Cancelled group {group_id}: {answer.get('message')} "
            f"({answer.get('replicas_updated')} replicas)"
        )


def _decode(headers, raw):
    text = raw.decode("utf-8", errors="replace")
    if "json" in (headers.get("Content-Type") or ""):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def sample_lines(exposition, prefix=""):
    """The sample lines of a Prometheus text exposition (no # HELP/TYPE)."""
    return [
        line
        for line in exposition.splitlines()
        if line and not line.startswith("#") and line.startswith(prefix)
    ]


def check(condition, message):
    if not condition:
        raise ExampleError(message)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run(main):
    """Runs ``main()`` and exits 0 on success, 1 on any failure."""
    # `kill` as well as Ctrl-C runs the examples' finally blocks, so that
    # what they created is cancelled.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        main()
    except ExampleError as error:
        say(f"FAILED: {error}")
        # A failed cleanup step must not hide the failure that preceded it.
        earlier = error.__context__
        if isinstance(earlier, ExampleError):
            say(f"  (while handling an earlier failure: {earlier})")
        elif isinstance(earlier, Exception):
            say(f"  (while handling an earlier failure: {earlier!r})")
        sys.exit(1)
    except KeyboardInterrupt:
        say("Interrupted (what the example created has been cancelled).")
        sys.exit(130)
    except Exception:  # an example must say why it failed, whatever it is
        traceback.print_exc()
        say("FAILED: unexpected error (traceback above)")
        sys.exit(1)
    say("Done.")
