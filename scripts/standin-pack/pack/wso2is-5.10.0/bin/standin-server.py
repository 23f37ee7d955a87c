#!/usr/bin/env python3
# is-provision STAND-IN for the WSO2 Identity Server 5.10.0 server process.
#
# Not WSO2 code. bin/wso2server.sh runs this in place of the Carbon JVM. It
# serves HTTPS on 9443 + [server] offset and HTTP on 9763 + offset, answers
# /carbon/ and /user-portal/ with a body naming the node, logs to
# repository/logs/wso2carbon.log in Carbon's line format, and writes
# <IS_HOME>/wso2carbon.pid once it is listening.
#
# Config, from repository/conf/deployment.toml:
#   [server] hostname, offset
#   [transport.https.properties] proxyPort, [transport.http.properties] proxyPort
#   [standin] node            (default: the name of IS_HOME's parent directory)
#   [standin] startup_delay   (seconds before the ports open; default 1.0,
#                              env IS_STANDIN_STARTUP_DELAY wins)
# Needs python3 (3.11+ parses the TOML with tomllib; older ones use a small
# fallback reader) and openssl (to create a self-signed key on first start).

import argparse
import datetime
import ipaddress
import os
import platform
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STARTED_AT = time.monotonic()
HTTPS_BASE_PORT = 9443
HTTP_BASE_PORT = 9763
PRODUCT = "WSO2 Identity Server-5.10.0"


class ConfigError(Exception):
    pass


# --------------------------------------------------------------------------
# logging in Carbon's format: [2020-03-10 10:00:00,123] INFO {logger} - msg
# --------------------------------------------------------------------------

class CarbonLog:
    def __init__(self, path, console):
        self.path = path
        self.console = console
        self.lock = threading.Lock()
        os.makedirs(os.path.dirname(path), exist_ok=True)

    def write(self, level, logger, message):
        now = datetime.datetime.now()
        stamp = now.strftime("%Y-%m-%d %H:%M:%S") + ",%03d" % (now.microsecond // 1000)
        line = "[%s] %s {%s} - %s\n" % (stamp, level, logger, message)
        with self.lock:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
            if self.console:
                sys.stdout.write(line)
                sys.stdout.flush()

    def info(self, logger, message):
        self.write("INFO", logger, message)

    def warn(self, logger, message):
        self.write("WARN", logger, message)

    def error(self, logger, message):
        self.write("ERROR", logger, message)


class AccessLog:
    """Tomcat-style access log, repository/logs/http_access_YYYY-MM-DD.log."""

    def __init__(self, logs_dir):
        self.logs_dir = logs_dir
        self.lock = threading.Lock()

    def write(self, client, request_line, status, size, user_agent):
        now = datetime.datetime.now().astimezone()
        path = os.path.join(self.logs_dir, "http_access_%s.log" % now.strftime("%Y-%m-%d"))
        line = '%s - - [%s] "%s" %s %s "-" "%s"\n' % (
            client, now.strftime("%d/%b/%Y:%H:%M:%S %z"), request_line, status, size, user_agent or "-")
        with self.lock:
            try:
                with open(path, "a", encoding="utf-8") as f:
                    f.write(line)
            except OSError:
                pass


# --------------------------------------------------------------------------
# deployment.toml
# --------------------------------------------------------------------------

def _fallback_value(raw, where):
    raw = raw.strip()
    if raw[:1] in ('"', "'"):
        quote = raw[0]
        end = raw.find(quote, 1)
        if end < 0:
            raise ConfigError("unterminated string at %s" % where)
        return raw[1:end]
    raw = raw.split("#", 1)[0].strip()
    if raw in ("true", "false"):
        return raw == "true"
    try:
        return int(raw)
    except ValueError:
        try:
            return float(raw)
        except ValueError:
            return raw


def _fallback_parse(text, path):
    """Just enough TOML for python3 < 3.11: [tables], key = scalar."""
    data = {}
    table = data
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = "%s:%d" % (path, number)
        if stripped.startswith("["):
            name = stripped.strip("[]").split("#", 1)[0].strip().strip("]").strip()
            table = data
            for part in name.split("."):
                table = table.setdefault(part.strip().strip('"'), {})
            continue
        if "=" not in stripped:
            raise ConfigError("cannot parse line %s: %s" % (where, stripped))
        key, raw = stripped.split("=", 1)
        key = key.strip().strip('"')
        if key not in table:  # the first one wins
            table[key] = _fallback_value(raw, where)
    return data


def read_toml(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ConfigError("cannot read %s: %s" % (path, e.strerror))
    try:
        import tomllib  # python 3.11+
    except ImportError:
        return _fallback_parse(raw.decode("utf-8"), path)
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        # The real server refuses to start on a broken deployment.toml as well.
        raise ConfigError("error while parsing %s: %s" % (path, e))


def dig(data, *keys):
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def as_int(value, name, default):
    if value is None:
        return default
    if isinstance(value, bool):
        raise ConfigError("%s must be a number, not %r" % (name, value))
    try:
        return int(str(value).strip())
    except ValueError:
        raise ConfigError("%s must be a number, not %r" % (name, value))


class Config:
    def __init__(self, home):
        self.home = home
        self.toml_path = os.path.join(home, "repository", "conf", "deployment.toml")
        data = read_toml(self.toml_path)
        self.hostname = str(dig(data, "server", "hostname") or "localhost")
        self.node_ip = dig(data, "server", "node_ip")
        self.offset = as_int(dig(data, "server", "offset"), "[server] offset", 0)
        self.https_port = HTTPS_BASE_PORT + self.offset
        self.http_port = HTTP_BASE_PORT + self.offset
        for port in (self.https_port, self.http_port):
            if not 0 < port < 65536:
                raise ConfigError("[server] offset %d gives port %d, out of range" % (self.offset, port))
        self.https_proxy_port = as_int(dig(data, "transport", "https", "properties", "proxyPort"),
                                       "[transport.https.properties] proxyPort", None)
        self.http_proxy_port = as_int(dig(data, "transport", "http", "properties", "proxyPort"),
                                      "[transport.http.properties] proxyPort", None)
        node = dig(data, "standin", "node")
        if node is None:
            parent = os.path.basename(os.path.dirname(os.path.abspath(home)))
            node = parent or socket.gethostname()
        self.node = str(node)
        delay = os.environ.get("IS_STANDIN_STARTUP_DELAY")
        if delay is None:
            delay = dig(data, "standin", "startup_delay")
        try:
            self.startup_delay = max(0.0, float(1.0 if delay is None else delay))
        except (TypeError, ValueError):
            raise ConfigError("startup_delay must be a number of seconds, not %r" % (delay,))


# --------------------------------------------------------------------------
# TLS key and certificate
# --------------------------------------------------------------------------

def ensure_certificate(config, log):
    security = os.path.join(config.home, "repository", "resources", "security")
    crt = os.path.join(security, "standin-server.crt")
    key = os.path.join(security, "standin-server.key")
    if os.path.isfile(crt) and os.path.isfile(key):
        return crt, key
    os.makedirs(security, exist_ok=True)
    names = []
    for name in (config.hostname, "localhost", "127.0.0.1", config.node_ip):
        if not name:
            continue
        try:
            entry = "IP:%s" % ipaddress.ip_address(str(name))
        except ValueError:
            entry = "DNS:%s" % name
        if entry not in names:
            names.append(entry)
    tmp_crt, tmp_key = crt + ".tmp%d" % os.getpid(), key + ".tmp%d" % os.getpid()
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
               "-subj", "/CN=%s/O=is-provision stand-in" % config.hostname,
               "-addext", "subjectAltName=" + ",".join(names),
               "-keyout", tmp_key, "-out", tmp_crt]
    try:
        result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, check=False)
    except FileNotFoundError:
        raise ConfigError("openssl is needed to create %s (apt-get install openssl)" % crt)
    if result.returncode != 0:
        raise ConfigError("openssl failed to create %s: %s" % (crt, result.stdout.decode(errors="replace").strip()))
    os.chmod(tmp_key, 0o600)
    os.replace(tmp_key, key)
    os.replace(tmp_crt, crt)
    log.info("org.wso2.carbon.core.util.KeyStoreManager",
             "Created a self-signed key and certificate for %s in %s" % (", ".join(names), security))
    return crt, key


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------

def make_handler(config, scheme, port, proxy_port, access_log):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "WSO2 Carbon Server"
        sys_version = ""
        timeout = 60  # idle keep-alive connections are dropped after this

        def version_string(self):
            return self.server_version

        def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
            pass

        def _respond(self, status, body, extra_headers=()):
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-IS-Node", config.node)
            for name, value in extra_headers:
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            access_log.write(self.client_address[0], self.requestline, status,
                             len(data), self.headers.get("User-Agent"))

        def _public_origin(self):
            # Like Tomcat: the host the client asked for, and proxyPort when set.
            host = self.headers.get("Host") or config.hostname
            if host.startswith("["):
                host = host[: host.find("]") + 1]
            else:
                host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
            public_port = proxy_port if proxy_port is not None else port
            default = 443 if scheme == "https" else 80
            return "%s://%s%s" % (scheme, host, "" if public_port == default else ":%d" % public_port)

        def _handle(self):
            length = self.headers.get("Content-Length")
            if length:
                try:
                    self.rfile.read(int(length))
                except ValueError:
                    pass
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            for app in ("/carbon", "/user-portal"):
                if path == app:
                    location = self._public_origin() + app + "/"
                    self._respond(302, "Found: %s\n" % location, [("Location", location)])
                    return
                if path.startswith(app + "/"):
                    body = "WSO2 Identity Server stand-in: node=%s hostname=%s port=%d" % (
                        config.node, config.hostname, port)
                    if proxy_port is not None:
                        body += " proxyPort=%d" % proxy_port
                    self._respond(200, body + "\n")
                    return
            self._respond(404, "Not Found: %s\n" % path)

        do_GET = _handle
        do_HEAD = _handle
        do_POST = _handle
        do_PUT = _handle
        do_DELETE = _handle

    return Handler


class StandinHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls_context = None

    def finish_request(self, request, client_address):
        if self.tls_context is None:
            return super().finish_request(request, client_address)
        # The TLS handshake runs here, in the connection's thread, so a client
        # that never completes it cannot stall the accept loop.
        request.settimeout(30)
        try:
            tls = self.tls_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        pass  # a client going away mid-request is not the server's problem


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def write_pid_file(path):
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % os.getpid())
    os.replace(tmp, path)


def remove_own_pid_file(path):
    try:
        with open(path) as f:
            if f.read().strip() == str(os.getpid()):
                os.remove(path)
    except OSError:
        pass


def main():
    parser = argparse.ArgumentParser(description="is-provision stand-in for the WSO2 IS 5.10.0 server")
    parser.add_argument("--home", required=True, help="IS_HOME (CARBON_HOME)")
    parser.add_argument("--console", action="store_true", help="also print the log to stdout")
    args, _ignored = parser.parse_known_args()

    home = os.path.abspath(args.home)
    pid_file = os.path.join(home, "wso2carbon.pid")
    log = CarbonLog(os.path.join(home, "repository", "logs", "wso2carbon.log"), args.console)
    core = "org.wso2.carbon.core.internal.CarbonCoreActivator"
    manager = "org.wso2.carbon.core.init.CarbonServerManager"

    stop = threading.Event()

    def on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    log.info(core, "Starting WSO2 Carbon... (is-provision stand-in, python %s)" % platform.python_version())
    log.info(core, "Operating System : %s %s, %s" % (platform.system(), platform.release(), platform.machine()))
    log.info(core, "Carbon Home      : %s" % home)
    try:
        config = Config(home)
        log.info(core, "Stand-in node    : %s" % config.node)
        crt, key = ensure_certificate(config, log)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(crt, key)
    except (ConfigError, ssl.SSLError, OSError) as e:
        log.error("org.wso2.carbon.server.Main", "Cannot start the server: %s" % e)
        return 1

    if stop.wait(config.startup_delay):
        log.info(manager, "Shutdown requested during startup")
        return 0

    access_log = AccessLog(os.path.dirname(log.path))
    servers = []
    try:
        for scheme, port, proxy_port, listener in (
                ("https", config.https_port, config.https_proxy_port,
                 "org.wso2.carbon.core.transports.http.HttpsTransportListener"),
                ("http", config.http_port, config.http_proxy_port,
                 "org.wso2.carbon.core.transports.http.HttpTransportListener")):
            server = StandinHTTPServer(("0.0.0.0", port),
                                       make_handler(config, scheme, port, proxy_port, access_log))
            if scheme == "https":
                server.tls_context = context
            servers.append((server, scheme, port, proxy_port, listener))
    except OSError as e:
        for server, *_rest in servers:
            server.server_close()
        log.error("org.apache.catalina.connector.Connector",
                  "Failed to bind port %d: %s (is another server running here?)" % (port, e.strerror))
        return 1

    write_pid_file(pid_file)
    for server, scheme, port, proxy_port, listener in servers:
        threading.Thread(target=server.serve_forever, args=(0.1,), name="%s-%d" % (scheme, port), daemon=True).start()
        label = "HTTPS port       : %d" if scheme == "https" else "HTTP port        : %d"
        log.info(listener, label % port + ("" if proxy_port is None else " (proxyPort %d)" % proxy_port))
    public = config.https_port if config.https_proxy_port is None else config.https_proxy_port
    base = "https://%s%s" % (config.hostname, "" if public == 443 else ":%d" % public)
    log.info("org.wso2.carbon.ui.internal.CarbonUIServiceComponent", "Mgt Console URL  : %s/carbon/" % base)
    log.info("org.wso2.carbon.ui.internal.CarbonUIServiceComponent", "User Portal URL  : %s/user-portal/" % base)
    finalizer = "org.wso2.carbon.core.internal.StartupFinalizerServiceComponent"
    log.info(finalizer, "Server           :  %s" % PRODUCT)
    log.info(finalizer, "WSO2 Carbon started in %d sec" % max(1, round(time.monotonic() - STARTED_AT)))

    while not stop.wait(1.0):
        pass

    log.info(manager, "Shutdown hook triggered....")
    log.info(manager, "Gracefully shutting down %s..." % PRODUCT)
    for server, *_rest in servers:
        server.shutdown()
        server.server_close()
    remove_own_pid_file(pid_file)
    log.info(manager, "Shutdown complete")
    log.info(manager, "Halting JVM")
    return 0


def run():
    code = 1
    try:
        code = main()
    finally:
        # Whatever happens, do not leave a pid file naming this (dead) process.
        for i, arg in enumerate(sys.argv):
            if arg == "--home" and i + 1 < len(sys.argv):
                remove_own_pid_file(os.path.join(os.path.abspath(sys.argv[i + 1]), "wso2carbon.pid"))
    return code


if __name__ == "__main__":
    sys.exit(run())
