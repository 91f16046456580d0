# examples/deploy/nginx/wkit.conf run by a real nginx (Debian's) as an
# unprivileged config on free ports, TLS ended there with a test CA (made
# by openssl), for the tests of deployments. Sourced after pool_common.sh;
# sources tls_common.sh.
#   nginx_ports
#       picks nginx's ports and makes its certificate: sets NP (https), HP
#       (http), ORIGIN, and makes $TMP/ca (with ca.pem, server.pem).
#   nginx_site POOL_PORTS SIG_PORT SQL_PORT
#       $TMP/wkit.conf: the example site with this test's ports, names and
#       certificate, nothing else changed; POOL_PORTS (space-separated) are
#       the pools of its upstream, one server line each.
#   start_nginx
#       nginx -t, then nginx in the foreground with its files in $TMP,
#       until ORIGIN/healthz answers.
. "$(dirname "$0")/tls_common.sh"
command -v nginx >/dev/null || fail "nginx is not installed (scripts/deps.sh installs it)"
SITE=$W_SRC/examples/deploy/nginx/wkit.conf

nginx_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

nginx_ports() {
  make_ca "$TMP/ca"
  issue_cert "$TMP/ca" server "DNS:localhost,IP:127.0.0.1"
  NP=$(nginx_free_port)
  HP=$(nginx_free_port)
  ORIGIN=https://localhost:$NP
}

nginx_site() {
  local pools=$1 sig=$2 sql=$3 servers="" p
  for p in $pools; do servers="$servers    server 127.0.0.1:$p max_fails=1 fail_timeout=10s;\n"; done
  sed -e "s/^\( *listen\) 443 ssl http2;/\1 127.0.0.1:$NP ssl http2;/" \
    -e "s/^\( *listen\) 80;/\1 127.0.0.1:$HP;/" \
    -e '/listen \[::\]/d' \
    -e 's/pool\.example\.org;/localhost;/' \
    -e "s|ssl_certificate .*|ssl_certificate $TMP/ca/server.pem;|" \
    -e "s|ssl_certificate_key .*|ssl_certificate_key $TMP/ca/server.key;|" \
    -e "s/^ *server 127\.0\.0\.1:7070 .*/$servers/" \
    -e "s/127\.0\.0\.1:9000/127.0.0.1:$sig/" \
    -e "s/127\.0\.0\.1:7080/127.0.0.1:$sql/" "$SITE" >"$TMP/wkit.conf"
  grep -q "listen 127.0.0.1:$NP ssl" "$TMP/wkit.conf" || fail "the site's https listen line changed"
  for p in $pools; do
    grep -q "server 127.0.0.1:$p " "$TMP/wkit.conf" || fail "the site's pool upstream changed"
  done
}

start_nginx() {
  mkdir -p "$TMP/nginx"
  cat >"$TMP/nginx.conf" <<CONF
daemon off;
master_process off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log info;
events { worker_connections 1024; }
http {
  access_log $TMP/nginx/access.log;
  client_body_temp_path $TMP/nginx/body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  include $TMP/wkit.conf;
}
CONF
  nginx -t -q -c "$TMP/nginx.conf" -p "$TMP/nginx" -e "$TMP/nginx/error.log" ||
    fail "nginx -t: $(cat "$TMP/nginx/error.log")"
  nginx -c "$TMP/nginx.conf" -p "$TMP/nginx" -e "$TMP/nginx/error.log" &
  PIDS+=($!)
  local i
  for i in $(seq 1 100); do
    curl -s --cacert "$TMP/ca/ca.pem" "$ORIGIN/healthz" >/dev/null && return 0
    sleep 0.05
  done
  fail "nginx did not answer $ORIGIN/healthz: $(tail -5 "$TMP/nginx/error.log")"
}
