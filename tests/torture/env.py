"""The explorer's fixed parts, set up once per explorer run: the fauxqs server
(S3 + SQS on one port), the repart binary, node for the proxies, and the
optional pieces other helpers provide (the sample's algorithm, the
overlapping-listing proxy option)."""
import importlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from .s3http import S3, InfraError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Proc:
    """A process started by the explorer (kept out of the terminal's process
    group so a ^C reaches only the explorer, which then stops it)."""

    def __init__(self, argv, out, err, env=None, cwd=None):
        self.argv = argv
        self.out_path, self.err_path = out, err
        self._out = open(out, "wb")
        self._err = open(err, "wb")
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(argv, stdout=self._out, stderr=self._err, stdin=subprocess.DEVNULL,
                                  env=env, cwd=cwd, start_new_session=True)
        self.rc = None
        self.secs = None
        self.timed_out = False

    @property
    def pid(self):
        return self.p.pid

    def wait(self, timeout):
        try:
            self.rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.timed_out = True
            self.kill(signal.SIGKILL)
            self.rc = self.p.wait()
        self.secs = time.monotonic() - self.t0
        self._out.close()
        self._err.close()
        return self.rc

    def kill(self, sig):
        try:
            os.kill(self.p.pid, sig)
            return True
        except ProcessLookupError:
            return False

    def running(self):
        return self.p.poll() is None


class Env:
    def __init__(self, repart, tmp_root=None, verbose=False):
        self.repart = os.path.abspath(repart)
        if not (os.path.isfile(self.repart) and os.access(self.repart, os.X_OK)):
            raise InfraError("no repart binary at %s" % self.repart)
        # crash points, held runs: the schedules need a build with the test hooks
        try:
            ver = subprocess.run([self.repart, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout
        except (OSError, subprocess.SubprocessError) as e:
            raise InfraError("%s --version: %s" % (self.repart, e))
        if "test hooks: on" not in ver:
            raise InfraError("%s has no test hooks: build it with -DREPART_TEST_HOOKS=ON "
                             "(scripts/test does)" % self.repart)
        self.node = os.path.join(os.environ.get("REPART_LOCAL_DIR", os.path.join(REPO, ".local")),
                                 "node_modules", ".bin", "node")
        if not os.access(self.node, os.X_OK):
            raise InfraError("no node at %s (run scripts/setup)" % self.node)
        self.tmp = tempfile.mkdtemp(prefix="torture.", dir=tmp_root)
        self.verbose = verbose
        self.owner = os.getpid()
        self.server_dir = os.path.join(self.tmp, "server")
        self.port = None
        self.server_pid = None
        self.s3 = None
        self.n = 0
        self.proxies = []
        self.slow_proxies = {}
        self.cond_proxies = {}
        self.sample = self._load_sample()
        self.list_overlap = self._has_list_overlap()

    # --- optional parts ---
    def _load_sample(self):
        path = os.path.join(REPO, "tests", "torture", "sample.py")
        if not os.path.isfile(path):
            return None
        try:
            mod = importlib.import_module("torture.sample")
        except Exception as e:  # noqa: BLE001 - someone else's module; say why and go on
            sys.stderr.write("torture: tests/torture/sample.py does not import (%s); "
                             "sample kinds skipped\n" % e)
            return None
        return getattr(mod, "run_sample", None)

    def _has_list_overlap(self):
        try:
            with open(os.path.join(REPO, "tests", "helpers", "faultproxy.mjs")) as f:
                return "--list-overlap" in f.read()
        except OSError:
            return False

    # --- the server ---
    def start_server(self):
        out = subprocess.run([os.path.join(REPO, "scripts", "s3-server"), "start", "--kind", "fauxqs",
                              "--dir", self.server_dir, "--buckets", "torture-boot",
                              "--queues", "torture-boot", "--owner", str(self.owner)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             timeout=60)
        if out.returncode != 0:
            raise InfraError("fauxqs did not start: %s" % out.stderr.decode(errors="replace")[-500:])
        port, pid = out.stdout.decode().split()
        self.port, self.server_pid = int(port), int(pid)
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.s3 = S3(self.endpoint)
        self.s3.create_bucket("torture-probe")
        self.s3.put("torture-probe", "x", b"x")

    def server_alive(self):
        try:
            os.kill(self.server_pid, 0)
        except (ProcessLookupError, TypeError):
            return False
        try:
            with open("/proc/%d/stat" % self.server_pid) as f:
                st = f.read().rsplit(")", 1)[1].split()[0]
            return st not in ("Z", "X")
        except OSError:
            return False

    def stop_server(self):
        if self.server_pid:
            subprocess.run([os.path.join(REPO, "scripts", "s3-server"), "stop", "--dir", self.server_dir],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.server_pid = None

    def next_n(self):
        self.n += 1
        return self.n

    # --- proxies ---
    def start_proxy(self, name, args, dirpath, upstream=None):
        """Starts tests/helpers/<name>.mjs in front of the server; returns
        (endpoint, Proc). Waits (bounded) for its port file."""
        os.makedirs(dirpath, exist_ok=True)
        argv = [self.node, os.path.join(REPO, "tests", "helpers", name + ".mjs"),
                "--upstream", upstream or self.endpoint, "--dir", dirpath, "--owner", str(self.owner),
                "--max-seconds", "900"] + list(args)
        p = Proc(argv, os.path.join(dirpath, "proxy.out"), os.path.join(dirpath, "proxy.err"))
        portf = os.path.join(dirpath, "port")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if os.path.exists(portf) and os.path.getsize(portf) > 0:
                with open(portf) as f:
                    txt = f.read().strip()
                if txt.isdigit():
                    self.proxies.append(p)
                    return "http://127.0.0.1:%s" % txt, p
            if not p.running():
                break
            time.sleep(0.02)
        p.kill(signal.SIGKILL)
        p.wait(5)
        with open(p.err_path, errors="replace") as f:
            err = f.read()[-400:]
        raise InfraError("%s did not start (%s): %s" % (name, " ".join(args), err))

    def slow_proxy(self, ms):
        """A proxy that delays every request by ms (no other fault): stateless,
        so one per delay serves the whole explorer run."""
        hit = self.slow_proxies.get(ms)
        if hit and hit[1].running():
            return hit[0]
        ep, p = self.start_proxy("faultproxy", ["--rate", "1", "--faults", "slow", "--slow-ms", str(ms)],
                                 os.path.join(self.tmp, "slow-%d" % ms))
        self.slow_proxies[ms] = (ep, p)
        return ep

    def cond_proxy(self, upstream):
        """The conditional-write proxy (S3's If-None-Match / If-Match, which
        fauxqs ignores) in front of upstream: `locking: on` needs a server
        that honours them (repart probes it and refuses to run otherwise)."""
        hit = self.cond_proxies.get(upstream)
        if hit and hit[1].running():
            return hit[0]
        ep, p = self.start_proxy("condproxy", [], os.path.join(self.tmp, "cond-%d" % self.next_n()),
                                 upstream=upstream)
        self.cond_proxies[upstream] = (ep, p)
        return ep

    def stop_proxy(self, p):
        if p.running():
            p.kill(signal.SIGTERM)
        p.wait(5)
        if p in self.proxies:
            self.proxies.remove(p)

    def close(self, keep_tmp=False):
        for p in list(self.proxies):
            self.stop_proxy(p)
        self.stop_server()
        if not keep_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


def safe_name(s):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", s)
