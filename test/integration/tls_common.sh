# A test CA and server certificates made with openssl(1), for the tests of
# TLS (wss://, https://): sourced after common.sh or pool_common.sh.
#   make_ca DIR                 DIR/ca.pem, DIR/ca.key
#   issue_cert DIR NAME SAN     DIR/NAME.pem, DIR/NAME.key signed by DIR's CA,
#                               for SAN (e.g. DNS:localhost,IP:127.0.0.1)
make_ca() {
  mkdir -p "$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=wkit test CA $(basename "$1")" -keyout "$1/ca.key" -out "$1/ca.pem" 2>/dev/null ||
    fail "openssl could not make a CA in $1"
}

issue_cert() {
  local dir=$1 name=$2 san=$3
  printf 'subjectAltName=%s\n' "$san" >"$dir/$name.ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$name" \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null &&
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
      -CAcreateserial -days 2 -extfile "$dir/$name.ext" -out "$dir/$name.pem" 2>/dev/null ||
    fail "openssl could not issue $name"
}

# wait_listening LOG [STARTS]: the port of the STARTS-th "listening on
# 127.0.0.1:PORT" line of LOG (10 s at most).
wait_listening() {
  local log=$1 starts=${2:-1} i n
  for i in $(seq 1 200); do
    n=$(grep -c 'listening on 127.0.0.1:' "$log" 2>/dev/null) # nothing until the log exists
    if [ "${n:-0}" -ge "$starts" ]; then
      grep -o 'listening on 127.0.0.1:[0-9]*' "$log" | tail -1 | cut -d: -f2
      return 0
    fi
    sleep 0.05
  done
  fail "no 'listening on' in $log: $(cat "$log")"
}
