# Shared by the HAProxy test and scripts/haproxy_pause_cost.sh (sourced, not run).

# make_certificate DIR NAME KEY-OPTIONS...: a self-signed localhost certificate and its key in
# DIR/NAME.pem, as HAProxy's `crt` takes them.
make_certificate() {
  local dir=$1 name=$2
  shift 2
  openssl req -x509 "$@" -nodes -keyout "$dir/$name.key" -out "$dir/$name.crt" -days 1 \
    -subj /CN=localhost 2>/dev/null
  cat "$dir/$name.crt" "$dir/$name.key" >"$dir/$name.pem"
}

# haproxy_global PROVIDER_DIR: the global section of one thread in ssl-mode-async with the
# pollnotify provider preferred (further global lines may follow it).
haproxy_global() {
  cat <<CONF
global
    nbthread 1
    ssl-mode-async
    ssl-provider-path $1
    ssl-provider pollnotify
    ssl-provider default
    ssl-propquery ?provider=pollnotify
CONF
}
