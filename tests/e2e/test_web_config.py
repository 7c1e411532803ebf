"""--web.config.file (issue 15): TLS and credentials on /metrics in the Prometheus
exporter-toolkit's format, checked with curl and openssl-made certificates on 127.0.0.1:
a certificate curl verifies with --cacert, 401 without or with wrong credentials, Basic (bcrypt)
and Bearer accepted, /healthz open for the kubelet's probes, TLS below 1.2 refused, client
certificates when asked for, plain HTTP when nothing is configured, and a bad web config stops
podmeter at start-up with exit 2 and one line. Fixture cgroup tree, no host cgroups."""
import json
import os
import subprocess
import time

import pytest

from harness import FIXTURES, free_port, podmeter_bin, stop_process

ROOT_TREE = os.path.join(FIXTURES, "v2-systemd")
# bcrypt (cost 10) of "s3cret", made with libxcrypt's crypt(3).
HASH = "$2b$10$jrEEEwGdTMYkGilPufFKIOymsvzrq6xE6nUUpnXyIFBy.Jjf.YtLW"
TOKEN = "tok3n-0123456789"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a server certificate it signed for 127.0.0.1/localhost, a client certificate it
    signed, and a second, unrelated key."""
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=podmeter test CA", cwd=d)
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
                      ("client", "extendedKeyUsage=clientAuth")):
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}", cwd=d)
        (d / f"{name}.ext").write_text(ext + "\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt",
                cwd=d)
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-out", "other.key", cwd=d)
    (d / "token").write_text(TOKEN + "\n")
    return d


def podmeter_args(port, web_config=None):
    args = [podmeter_bin(), "--listen", f"127.0.0.1:{port}",
            "--cgroup-root", os.path.join(ROOT_TREE, "sys/fs/cgroup"),
            "--proc-root", os.path.join(ROOT_TREE, "proc"), "--no-relay"]
    return args + (["--web.config.file", str(web_config)] if web_config else [])


def curl(url, *args):
    """(curl's exit code, HTTP status as int or 0, headers+body text)."""
    res = subprocess.run(["curl", "-sS", "-i", "--max-time", "10", "-w", "\n%{http_code}", *args,
                          url], capture_output=True, text=True, timeout=30)
    body, _, code = res.stdout.rpartition("\n")
    return res.returncode, int(code or 0), body + res.stderr


class Running:
    def __init__(self, port, web_config=None):
        self.port = port
        self.proc = subprocess.Popen(podmeter_args(port, web_config), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)

    def wait_listening(self, *curl_args, scheme="https"):
        deadline = time.monotonic() + 15
        while True:
            assert self.proc.poll() is None, self.proc.stdout.read()
            rc, status, _ = curl(f"{scheme}://127.0.0.1:{self.port}/healthz", *curl_args)
            if status == 200:
                return
            assert time.monotonic() < deadline, "podmeter did not answer /healthz"
            time.sleep(0.1)

    def stop(self):
        stop_process(self.proc)


@pytest.fixture(scope="module")
def tls_server(pki):
    web = pki / "web.yml"
    web.write_text("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                   f"basic_auth_users:\n  alice: {HASH}\nbearer_token_file: token\n")
    server = Running(free_port(), web)
    server.wait_listening("--cacert", str(pki / "ca.crt"))
    yield server
    server.stop()


def test_tls_and_credentials(pki, tls_server):
    url = f"https://127.0.0.1:{tls_server.port}"
    ca = ["--cacert", str(pki / "ca.crt")]
    rc, status, text = curl(url + "/metrics", *ca)
    assert (rc, status) == (0, 401), text
    assert 'WWW-Authenticate: Basic realm="podmeter"' in text, text
    assert curl(url + "/metrics", *ca, "-u", "alice:wrong")[1] == 401
    assert curl(url + "/metrics", *ca, "-u", "bob:s3cret")[1] == 401
    assert curl(url + "/metrics", *ca, "-H", "Authorization: Bearer nope")[1] == 401
    rc, status, text = curl(url + "/metrics", *ca, "-u", "alice:s3cret")
    assert (rc, status) == (0, 200), text
    assert "\npodmeter_build_info{" in text, text[:2000]
    rc, status, text = curl(url + "/metrics", *ca, "-H", f"Authorization: Bearer {TOKEN}",
                            "--compressed")
    assert (rc, status) == (0, 200) and "Content-Encoding: gzip" in text, text[:500]
    assert "\npodmeter_build_info{" in text
    # /healthz and / tell nothing and the kubelet's probes send no credentials.
    assert curl(url + "/healthz", *ca)[1] == 200
    assert curl(url + "/", *ca)[1] == 200


def test_tls_is_verified_and_required(pki, tls_server):
    url = f"https://127.0.0.1:{tls_server.port}/healthz"
    rc, _, text = curl(url)  # the system's CAs do not know the test CA
    assert rc == 60, text  # CURLE_PEER_FAILED_VERIFICATION
    rc, status, _ = curl(f"http://127.0.0.1:{tls_server.port}/healthz")
    assert status != 200, "plain HTTP answered on the TLS port"
    rc, _, text = curl(url, "--cacert", str(pki / "ca.crt"), "--tlsv1.0", "--tls-max", "1.1")
    assert rc == 35, text  # the default min_version is TLS12: the handshake fails
    rc, status, text = curl(url, "--cacert", str(pki / "ca.crt"), "--tlsv1.3")
    assert (rc, status) == (0, 200), text
    assert tls_server.proc.poll() is None


def test_client_certificates(pki):
    web = pki / "mtls.yml"
    web.write_text("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                   "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n")
    server = Running(free_port(), web)
    client = ["--cert", str(pki / "client.crt"), "--key", str(pki / "client.key")]
    try:
        server.wait_listening("--cacert", str(pki / "ca.crt"), *client)
        url = f"https://127.0.0.1:{server.port}/metrics"
        rc, status, text = curl(url, "--cacert", str(pki / "ca.crt"), *client)
        assert (rc, status) == (0, 200), text
        rc, status, text = curl(url, "--cacert", str(pki / "ca.crt"))
        assert status == 0 and rc != 0, text  # no client certificate: no answer
    finally:
        server.stop()


def test_plain_http_without_web_config():
    server = Running(free_port())
    try:
        server.wait_listening(scheme="http")
        rc, status, text = curl(f"http://127.0.0.1:{server.port}/metrics")
        assert (rc, status) == (0, 200) and "\npodmeter_build_info{" in text
        rc, _, text = curl(f"https://127.0.0.1:{server.port}/metrics", "-k")
        assert rc == 35, text  # no TLS on the port
    finally:
        server.stop()


def test_credentials_without_tls(pki):
    web = pki / "auth-only.yml"
    web.write_text(f"basic_auth_users:\n  alice: '{HASH}'\n")
    server = Running(free_port(), web)
    try:
        server.wait_listening(scheme="http")
        url = f"http://127.0.0.1:{server.port}/metrics"
        assert curl(url)[1] == 401
        assert curl(url, "-u", "alice:s3cret")[1] == 200
        assert curl(url, "-H", f"Authorization: Bearer {TOKEN}")[1] == 401  # no token configured
    finally:
        server.stop()


BAD_CONFIGS = [
    ("tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n",
     "does not match cert_file"),
    ("tls_server_config:\n  cert_file: server.crt\n  key_file: nope.key\n", "key_file "),
    ("tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n", "cert_file "),
    ("tls_server_config:\n  cert_file: server.crt\n", "key_file is missing"),
    ("basic_auth_users:\n  alice: s3cret\n", "basic_auth_users.alice: not a bcrypt hash"),
    ("bearer_token_file: nope\n", "bearer_token_file: "),
    ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
     "  client_auth_type: RequireAndVerifyClientCert\n", "needs client_ca_file"),
    ("tls_config:\n  cert_file: server.crt\n", "tls_config: unknown key"),
    ("tls_server_config: [\n", "web config: "),
]


@pytest.mark.parametrize("text,want", BAD_CONFIGS)
def test_bad_web_config_exits_2_with_one_line(pki, text, want):
    web = pki / "bad.yml"
    web.write_text(text)
    res = subprocess.run(podmeter_args(free_port(), web), capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == 2, res.stdout + res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("podmeter: ") and want in lines[0], lines


def test_missing_web_config_file_exits_2(tmp_path):
    res = subprocess.run(podmeter_args(free_port(), tmp_path / "none.yml"), capture_output=True,
                         text=True, timeout=30)
    assert res.returncode == 2 and len(res.stderr.splitlines()) == 1, res.stderr
    assert "--web.config.file" in res.stderr and "none.yml" in res.stderr, res.stderr


def test_prometheus_scrapes_over_tls_with_credentials(pki, tls_server, tmp_path):
    """Debian's Prometheus as the client: its scrape config's tls_config and basic_auth (and
    authorization) against podmeter; a wrong password is a target down with 401."""
    (tmp_path / "password").write_text("s3cret")
    (tmp_path / "token").write_text(TOKEN)
    target = f'static_configs: [{{targets: ["127.0.0.1:{tls_server.port}"]}}]'
    tls = f"scheme: https\n    tls_config: {{ca_file: {pki / 'ca.crt'}}}"
    (tmp_path / "prom.yml").write_text(
        "global: {scrape_interval: 1s}\nscrape_configs:\n"
        f"  - job_name: basic\n    {tls}\n    {target}\n"
        f"    basic_auth: {{username: alice, password_file: {tmp_path / 'password'}}}\n"
        f"  - job_name: bearer\n    {tls}\n    {target}\n"
        f"    authorization: {{credentials_file: {tmp_path / 'token'}}}\n"
        f"  - job_name: wrong\n    {tls}\n    {target}\n"
        "    basic_auth: {username: alice, password: nope}\n")
    port = free_port()
    prom = subprocess.Popen(["prometheus", f"--config.file={tmp_path / 'prom.yml'}",
                             f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            rc, status, text = curl(f"http://127.0.0.1:{port}/api/v1/targets")
            health = {}
            if status == 200:
                body = json.loads(text[text.index("{"):])
                health = {t["labels"]["job"]: (t["health"], t["lastError"])
                          for t in body["data"]["activeTargets"]}
            if all(health.get(job, ("unknown",))[0] != "unknown"
                   for job in ("basic", "bearer", "wrong")):
                break
            assert time.monotonic() < deadline, health
            time.sleep(0.5)
        assert health["basic"] == ("up", ""), health
        assert health["bearer"] == ("up", ""), health
        assert health["wrong"][0] == "down" and "401" in health["wrong"][1], health
    finally:
        stop_process(prom)
