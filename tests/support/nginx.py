"""deploy/ec2's nginx configuration, run on loopback by the server-target and e2e suites."""

import os
import re
import shutil
import subprocess

from deploy.tools.harness.browser import HOST
from deploy.tools.harness.processes import ROOT

EC2 = ROOT / "deploy" / "ec2"


def nginx_config(tmp, upstream_port, http_port, https_port, server_name=HOST):
    """deploy/ec2/nginx with its ports and paths moved to loopback and ``tmp``, serving
    ``server_name``.

    A browser sends no TLS server name for an IP address: for ``server_name`` 127.0.0.1 (the
    e2e suite) the default server shows the certificate instead of refusing the handshake,
    and the Host header still picks the site (other hosts are still closed with 444).
    """
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [
            *(shutil.which("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes"),
            *("-days", "1", "-subj", f"/CN={HOST}", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    snippet = tmp / "amphibian-proxy.conf"
    shutil.copy(EC2 / "nginx" / "amphibian-proxy.conf", snippet)
    site = (EC2 / "nginx" / "amphibian.conf").read_text()
    replacements = {
        "unix:/run/amphibian/gunicorn.sock": f"127.0.0.1:{upstream_port}",
        "listen 80 default_server;": f"listen 127.0.0.1:{http_port} default_server;",
        "listen 443 ssl http2 default_server;": (
            f"listen 127.0.0.1:{https_port} ssl http2 default_server;"
        ),
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "server_name app.example.com;": f"server_name {server_name};",
        "/etc/ssl/amphibian/fullchain.pem": str(cert),
        "/etc/ssl/amphibian/privkey.pem": str(key),
        "/etc/nginx/snippets/amphibian-proxy.conf": str(snippet),
    }
    if server_name[0].isdigit():
        replacements["ssl_reject_handshake on;"] = (
            f"ssl_certificate {cert};\n    ssl_certificate_key {key};"
        )
    for old, new in replacements.items():
        assert old in site, old
        site = site.replace(old, new)
    site = re.sub(r"\n\s*listen \[::\]:.*;", "", site)  # no IPv6 here
    (tmp / "site.conf").write_text(site)
    # Root's workers would run as nobody, who cannot read tmp; stay root in the test.
    user = "user root;\n" if os.geteuid() == 0 else ""
    (tmp / "nginx.conf").write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {tmp}/nginx.pid;\n"
        f"error_log {tmp}/error.log;\nevents {{ worker_connections 256; }}\n"
        f"http {{\n  access_log {tmp}/access.log;\n"
        f"  client_body_temp_path {tmp}/body;\n  proxy_temp_path {tmp}/proxy;\n"
        f"  fastcgi_temp_path {tmp}/fastcgi;\n  uwsgi_temp_path {tmp}/uwsgi;\n"
        f"  scgi_temp_path {tmp}/scgi;\n  include {tmp}/site.conf;\n}}\n"
    )
    return tmp / "nginx.conf"
