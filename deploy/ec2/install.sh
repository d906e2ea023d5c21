#!/bin/sh
# Install or upgrade Amphibian on a Debian 13 EC2 instance (python3 3.13) from an unpacked release in $1
# (cloud-init.yaml runs it at first boot; run it again for a new release).
# Layout, shared with the generated timer units: code /opt/amphibian/app, venv
# /opt/amphibian/venv, static /opt/amphibian/static, settings /etc/amphibian/amphibian.env.
set -eu
release="$1"
app=/opt/amphibian/app
venv=/opt/amphibian/venv

id amphibian >/dev/null 2>&1 ||
    useradd --system --user-group --home-dir /opt/amphibian --shell /usr/sbin/nologin amphibian
install -d -o root -g root -m 0755 /opt/amphibian
install -d -o root -g amphibian -m 0750 /etc/amphibian
[ -f /etc/amphibian/amphibian.env ] ||
    install -o root -g amphibian -m 0640 "$release/deploy/ec2/amphibian.env.example" \
        /etc/amphibian/amphibian.env

chgrp amphibian /etc/amphibian/amphibian.env && chmod 0640 /etc/amphibian/amphibian.env

# Root owns code and venv: the service user can read, not rewrite, what it runs.
rm -rf "$app.new" && cp -a "$release" "$app.new"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --require-hashes --no-deps --only-binary=:all: \
    -r "$app.new/requirements/runtime.txt"
(cd "$app.new" && DJANGO_SETTINGS_MODULE=project.settings.base \
    DJANGO_STATIC_ROOT=/opt/amphibian/static "$venv/bin/python" manage.py collectstatic \
    --noinput -v0)
rm -rf "$app.old" && { [ ! -d "$app" ] || mv "$app" "$app.old"; } && mv "$app.new" "$app"

set -a && . /etc/amphibian/amphibian.env && set +a
(cd "$app" && "$venv/bin/python" manage.py migrate --noinput)

install -m 0644 "$app"/deploy/ec2/systemd/amphibian-* /etc/systemd/system/
install -m 0644 "$app/deploy/ec2/nginx/amphibian-proxy.conf" /etc/nginx/snippets/
install -m 0644 "$app/deploy/ec2/nginx/amphibian.conf" /etc/nginx/sites-available/amphibian
ln -sf /etc/nginx/sites-available/amphibian /etc/nginx/sites-enabled/amphibian
rm -f /etc/nginx/sites-enabled/default
systemctl daemon-reload
systemctl enable --now amphibian-web.socket amphibian-worker.service
for timer in "$app"/deploy/ec2/systemd/amphibian-job-*.timer; do
    systemctl enable --now "$(basename "$timer")"
done
# New code: restart gunicorn (the socket holds connections meanwhile) and the worker.
systemctl try-restart amphibian-web.service amphibian-worker.service
nginx -t && systemctl reload nginx
