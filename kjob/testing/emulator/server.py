"""HTTP/1.1 front end: routing, JSON bodies, chunked watch streams, faults and the audit log.

Paths and verbs follow the apiserver's REST layout: ``/api/v1/...`` for the core group,
``/apis/<group>/<version>/...`` for others; ``namespaces/<ns>/<resource>[/<name>[/<subresource>]]``
for namespaced resources; ``GET`` on a collection is ``list`` (``watch`` with ``?watch=true``),
``POST`` is ``create``, ``PUT`` ``update``, ``PATCH`` ``patch`` (by ``Content-Type``), ``DELETE``
``delete`` or ``deletecollection``. Responses are JSON (``Status`` for errors); warnings go in
``Warning: 299 - "..."`` headers; watches stream one JSON event per line with chunked transfer
encoding, end cleanly at ``timeoutSeconds``, and send ``BOOKMARK`` events when asked.

The stdlib ``ThreadingHTTPServer`` is enough: one thread per connection, keep-alive, and chunked
responses written by hand. It binds to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kjob.testing.emulator import resources
from kjob.testing.emulator.api import Registry, Result
from kjob.testing.emulator.audit import AuditEntry, AuditLog
from kjob.testing.emulator.authz import Attributes, Authorizer
from kjob.testing.emulator.errors import (
    ApiError,
    bad_request,
    internal,
    method_not_allowed,
    path_not_found,
    too_many_requests,
)
from kjob.testing.emulator.faults import FaultInjector
from kjob.testing.emulator.kubelet import Kubelet, format_log
from kjob.testing.emulator.resources import ResourceType
from kjob.testing.emulator.util import Obj, sub


@dataclass
class RequestInfo:
    """What ``k8s.io/apiserver``'s ``RequestInfoFactory`` derives from a request."""

    verb: str
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    rt: ResourceType | None = None
    api_prefix: tuple[str, str] | None = None  # (group, version) of a discovery request


@dataclass
class ServerConfig:
    version: str
    bookmark_interval: float
    max_watch_timeout: float


class App:
    """Everything a request handler needs; owned by the :class:`~kjob.testing.emulator.Emulator`."""

    def __init__(
        self,
        registry: Registry,
        kubelet: Kubelet,
        faults: FaultInjector,
        audit: AuditLog,
        config: ServerConfig,
        admin: Callable[[str, str, dict[str, str], Any], tuple[int, Obj]],
        authorizer: Authorizer,
    ) -> None:
        self.registry = registry
        self.authorizer = authorizer
        self.kubelet = kubelet
        self.faults = faults
        self.audit = audit
        self.config = config
        self.admin = admin
        self.closing = threading.Event()
        self.address = ""


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self._conns: set[socket.socket] = set()
        self._handler_threads: list[threading.Thread] = []
        self._conn_lock = threading.Lock()
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self._conns.add(request)
        t = threading.Thread(target=self.process_request_thread, args=(request, client_address), daemon=True)
        with self._conn_lock:
            self._handler_threads = [x for x in self._handler_threads if x.is_alive()]
            self._handler_threads.append(t)
        t.start()

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_all(self, timeout: float = 5.0) -> None:
        """Cut every open connection and wait (bounded) for the handler threads."""
        with self._conn_lock:
            conns = list(self._conns)
            threads = list(self._handler_threads)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))


def _first(query: dict[str, list[str]]) -> dict[str, str]:
    return {k: v[0] for k, v in query.items() if v}


def _bool(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1")


def _int(params: dict[str, str], key: str) -> int | None:
    if key not in params or params[key] == "":
        return None
    try:
        return int(params[key])
    except ValueError:
        raise bad_request(f'{key}: Invalid value: "{params[key]}": must be an integer') from None


def _attributes(info: RequestInfo) -> Attributes:
    """What the authorizer is asked (a namespace's own name is its namespace, as RBAC sees it)."""
    rt = info.rt
    assert rt is not None
    namespace = info.name if rt.plural == "namespaces" and info.name else info.namespace
    resource = f"{rt.plural}/{info.subresource}" if info.subresource else rt.plural
    return Attributes(info.verb, rt.group, resource, namespace, info.name, rt.plural)


_OPTIONS = {"create": "CreateOptions", "update": "UpdateOptions", "patch": "PatchOptions"}


def _dry_run(verb: str, params: dict[str, str]) -> bool:
    """``?dryRun=All``: validate, default and answer, store nothing. Any other value is a 422."""
    if "dryRun" not in params or verb not in (*_OPTIONS, "delete", "deletecollection"):
        return False
    value = params["dryRun"]
    if value != "All":
        kind = _OPTIONS.get(verb, "DeleteOptions")
        detail = f'Unsupported value: []string{{"{value}"}}: supported values: "All"'
        raise ApiError(
            422,
            "Invalid",
            f'{kind}.meta.k8s.io "" is invalid: dryRun: {detail}',
            {
                "group": "meta.k8s.io",
                "kind": kind,
                "causes": [{"reason": "FieldValueNotSupported", "message": detail, "field": "dryRun"}],
            },
        )
    return True


def parse_path(method: str, path: str, params: dict[str, str]) -> RequestInfo:
    parts = [urllib.parse.unquote(p) for p in path.split("/") if p]
    verb_for_get = "get"
    if not parts:
        return RequestInfo("get")
    if parts[0] == "api" and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis" and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return RequestInfo("get")
    if not rest:
        return RequestInfo("get", api_prefix=(group, version))
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
        namespace, rest = rest[1], rest[2:]
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if len(rest) > 3:
        raise path_not_found()
    rt = resources.lookup(group, version, plural)
    if plural == "namespaces":
        namespace = ""
    elif (rt.namespaced is False and namespace) or (rt.namespaced and name and not namespace):
        raise path_not_found()
    if subresource and subresource not in rt.subresources:
        raise path_not_found()
    if method == "GET":
        verb = verb_for_get if name else ("watch" if _bool(params.get("watch")) else "list")
    elif method == "POST":
        if name:
            raise method_not_allowed()
        verb = "create"
    elif method == "PUT":
        verb = "update"
    elif method == "PATCH":
        verb = "patch"
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        raise method_not_allowed()
    if verb in ("update", "patch") and not name:
        raise method_not_allowed()
    return RequestInfo(verb, plural, subresource, namespace, name, rt)


class _Dropped(Exception):
    """The fault injector cut the connection."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorHTTPServer
    server_version = "kjob-emulator"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle + delayed ACK add 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    # -------------------------------------------------------------------------- plumbing
    @property
    def app(self) -> App:
        return self.server.app

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
            return bytes(data)
        return self.rfile.read(length) if length > 0 else b""

    def _send(
        self,
        code: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        for w in warnings or []:
            self.send_header("Warning", f"299 - {json.dumps(w)}")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(
        self, code: int, obj: Obj, warnings: list[str] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        self._send(code, json.dumps(obj).encode(), headers=headers, warnings=warnings)

    def _send_error(self, e: ApiError) -> None:
        self._send_json(e.code, e.status(), headers=e.headers)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _audit(self, info: RequestInfo, code: int, fault: str | None = None, name: str | None = None) -> None:
        split = urllib.parse.urlsplit(self.path)
        path = split.path
        self.app.audit.record(
            AuditEntry(
                verb=info.verb,
                resource=info.resource,
                namespace=info.namespace,
                name=info.name if name is None else name,
                code=code,
                time=time.time(),
                subresource=info.subresource,
                path=path,
                fault=fault,
                user_agent=self.headers.get("User-Agent", ""),
                dry_run="dryRun" in urllib.parse.parse_qs(split.query),
            )
        )

    # ---------------------------------------------------------------------------- entry
    def _handle(self) -> None:
        split = urllib.parse.urlsplit(self.path)
        params = _first(urllib.parse.parse_qs(split.query, keep_blank_values=True))
        body = self._read_body()
        if split.path.startswith("/_emulator"):
            self._handle_admin(split.path, params, body)
            return
        info = RequestInfo("get")
        try:
            info = parse_path(self.command, split.path, params)
        except ApiError as e:
            self._audit(info, e.code)
            self._send_error(e)
            return
        delay = self.app.faults.latency(info.verb, info.resource)
        if delay > 0:
            time.sleep(delay)
        fault = self.app.faults.decide(info.verb, info.resource)
        if fault == "drop":
            self._audit(info, 0, fault)
            self._drop()
            return
        if fault is not None:
            err = (
                internal("kjob emulator: injected fault")
                if fault == "error"
                else too_many_requests(self.app.faults.config.retry_after)
            )
            self._audit(info, err.code, fault)
            self._send_error(err)
            return
        try:
            if info.rt is None:
                self._non_resource(split.path, info)
                self._audit(info, 200)
                return
            identity = self.app.authorizer.identity(self.headers.get("Authorization"))
            self.app.authorizer.check(identity, _attributes(info))
            if info.rt.plural == "selfsubjectaccessreviews":
                if info.verb != "create":
                    raise method_not_allowed()
                self._audit(info, 201)
                self._send_json(201, self.app.authorizer.review(identity, self._json_body(body)))
                return
            if info.verb == "watch":
                self._watch(info, params)
                return
            if info.subresource == "log":
                self._log(info, params)
                return
            result = self._dispatch(info, params, body)
        except ApiError as e:
            failed_name = str((e.details or {}).get("name") or "") if info.verb == "create" else None
            self._audit(info, e.code, name=failed_name)
            self._send_error(e)
            return
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        except Exception as e:
            err = internal(f"kjob emulator bug: {type(e).__name__}: {e}")
            self._audit(info, 500)
            self._send_error(err)
            raise
        name = str(sub(result.body, "metadata").get("name") or info.name) if info.verb == "create" else None
        self._audit(info, result.code, name=name)
        self._send_json(result.code, result.body, warnings=result.warnings)

    def _non_resource(self, path: str, info: RequestInfo) -> None:
        cfg = self.app.config
        if info.api_prefix is not None:
            group, version = info.api_prefix
            self._send_json(200, resources.api_resource_list(group, version))
            return
        clean = path.rstrip("/")
        if clean == "/version":
            self._send_json(200, resources.version_info(cfg.version))
        elif clean == "/api":
            self._send_json(200, resources.api_versions(self.app.address))
        elif clean == "/apis":
            self._send_json(200, resources.api_group_list())
        elif clean.startswith("/apis/") and clean.count("/") == 2:
            self._send_json(200, resources.api_group(clean.split("/")[2]))
        elif clean in ("/healthz", "/livez", "/readyz"):
            self._send(200, b"ok", "text/plain; charset=utf-8")
        else:
            raise path_not_found()

    def _json_body(self, body: bytes) -> Any:
        if not body:
            return None
        try:
            return json.loads(body)
        except ValueError as e:
            raise bad_request(f"couldn't get version/kind; json parse error: {e}") from None

    def _dispatch(self, info: RequestInfo, params: dict[str, str], body: bytes) -> Result:
        reg = self.app.registry
        rt = info.rt
        assert rt is not None
        ns = info.namespace or None
        dry_run = _dry_run(info.verb, params)
        fv = params.get("fieldValidation") or None
        if info.verb == "get":
            return Result(200, reg.get(rt, ns, info.name))
        if info.verb == "list":
            return Result(
                200,
                reg.list_objects(
                    rt,
                    ns,
                    label_selector=params.get("labelSelector"),
                    field_selector=params.get("fieldSelector"),
                    limit=_int(params, "limit"),
                    continue_token=params.get("continue") or None,
                ),
            )
        if info.verb == "create":
            return reg.create(rt, ns, self._json_body(body), field_validation=fv, dry_run=dry_run)
        if info.verb == "update":
            return reg.update(
                rt,
                ns,
                info.name,
                self._json_body(body),
                subresource=info.subresource,
                field_validation=fv,
                dry_run=dry_run,
            )
        if info.verb == "patch":
            return reg.patch(
                rt,
                ns,
                info.name,
                self.headers.get("Content-Type", "application/strategic-merge-patch+json"),
                self._json_body(body),
                subresource=info.subresource,
                field_validation=fv,
                dry_run=dry_run,
            )
        options = self._json_body(body) or {}
        if not isinstance(options, dict):
            raise bad_request("DeleteOptions must be an object")
        if "propagationPolicy" in params:
            options["propagationPolicy"] = params["propagationPolicy"]
        grace = _int(params, "gracePeriodSeconds")
        if grace is not None:
            options["gracePeriodSeconds"] = grace
        if "orphanDependents" in params:
            options["orphanDependents"] = _bool(params["orphanDependents"])
        dry_run = dry_run or options.get("dryRun") == ["All"]
        if info.verb == "delete":
            return reg.delete(rt, ns, info.name, options, dry_run=dry_run)
        return reg.delete_collection(
            rt,
            ns,
            options,
            label_selector=params.get("labelSelector"),
            field_selector=params.get("fieldSelector"),
            dry_run=dry_run,
        )

    # --------------------------------------------------------------------------- watch
    def _watch(self, info: RequestInfo, params: dict[str, str]) -> None:
        app = self.app
        rt = info.rt
        assert rt is not None
        started = time.monotonic()
        timeout = _int(params, "timeoutSeconds")
        limit = (
            app.config.max_watch_timeout
            if timeout is None or timeout <= 0
            else min(float(timeout), app.config.max_watch_timeout)
        )
        bookmarks = _bool(params.get("allowWatchBookmarks"))
        error: ApiError | None = None
        watcher = None
        try:
            watcher = app.registry.watch(
                rt,
                info.namespace or None,
                label_selector=params.get("labelSelector"),
                field_selector=params.get("fieldSelector"),
                resource_version=params.get("resourceVersion"),
            )
        except ApiError as e:
            if e.code != 410:
                raise
            error = e
        drop_after = app.faults.watch_drop_after(info.resource)
        self._audit(info, 200)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        try:
            if error is not None:
                self._chunk(json.dumps({"type": "ERROR", "object": error.status()}).encode() + b"\n")
            elif watcher is not None and self._stream_events(
                watcher.queue, started, limit, bookmarks, drop_after, rt
            ):
                return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
        finally:
            if watcher is not None:
                app.registry.store.unwatch(watcher)

    def _stream_events(
        self,
        events: queue.Queue[tuple[str, Obj] | None],
        started: float,
        limit: float,
        bookmarks: bool,
        drop_after: float | None,
        rt: ResourceType,
    ) -> bool:
        """Write events until the timeout; ``True`` when the connection was cut on purpose."""
        app = self.app
        interval = max(0.05, app.config.bookmark_interval)
        deadline = started + limit
        drop_at = started + drop_after if drop_after is not None else None
        next_bookmark = started + interval
        while not app.closing.is_set():
            now = time.monotonic()
            if drop_at is not None and now >= drop_at:
                self._drop()
                return True
            if now >= deadline:
                return False
            if bookmarks and now >= next_bookmark:
                rv = str(app.registry.store.resource_version)
                bookmark = {
                    "kind": rt.kind,
                    "apiVersion": rt.api_version,
                    "metadata": {"resourceVersion": rv},
                }
                self._chunk(json.dumps({"type": "BOOKMARK", "object": bookmark}).encode() + b"\n")
                next_bookmark = now + interval
            wake = min(deadline, drop_at or deadline, next_bookmark if bookmarks else deadline, now + 0.25)
            try:
                item = events.get(timeout=max(0.0, wake - now))
            except queue.Empty:
                continue
            if item is None:
                return False
            kind, obj = item
            self._chunk(json.dumps({"type": kind, "object": obj}).encode() + b"\n")
        return False

    # ----------------------------------------------------------------------------- logs
    def _log(self, info: RequestInfo, params: dict[str, str]) -> None:
        app = self.app
        pod = app.registry.get(resources.resource("pods"), info.namespace, info.name)
        text, started, running = app.kubelet.logs(
            pod, params.get("container") or None, _bool(params.get("previous"))
        )
        tail, limit = _int(params, "tailLines"), _int(params, "limitBytes")
        stamps = _bool(params.get("timestamps"))
        if not _bool(params.get("follow")):
            self._audit(info, 200)
            self._send(
                200,
                format_log(text, started, tail_lines=tail, limit_bytes=limit, timestamps=stamps),
                "text/plain",
            )
            return
        self._audit(info, 200)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = format_log(text, started, tail_lines=tail, limit_bytes=limit, timestamps=stamps)
        if sent:
            self._chunk(sent)
        offset = len(text)
        budget = limit - len(sent) if limit is not None else None
        deadline = time.monotonic() + app.config.max_watch_timeout
        while (
            running
            and not app.closing.is_set()
            and time.monotonic() < deadline
            and (budget is None or budget > 0)
        ):
            time.sleep(0.05)
            try:
                pod = app.registry.get(resources.resource("pods"), info.namespace, info.name)
                text, started, running = app.kubelet.logs(pod, params.get("container") or None, False)
            except ApiError:
                break
            if len(text) > offset:
                chunk = format_log(
                    text[offset:], started, tail_lines=None, limit_bytes=budget, timestamps=stamps
                )
                offset = len(text)
                if chunk:
                    self._chunk(chunk)
                    if budget is not None:
                        budget -= len(chunk)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # ---------------------------------------------------------------------------- admin
    def _handle_admin(self, path: str, params: dict[str, str], body: bytes) -> None:
        try:
            data = json.loads(body) if body else None
        except ValueError as e:
            self._send_json(400, {"error": f"invalid JSON: {e}"})
            return
        try:
            code, payload = self.app.admin(self.command, path, params, data)
        except (ValueError, TypeError) as e:
            code, payload = 400, {"error": str(e)}
        self._send_json(code, payload)
