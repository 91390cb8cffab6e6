# shellcheck shell=bash
# certs.sh — the farm's CA, server and client certificates, made by the project's own `xbuild nodes certs`.
#   $FARM/certs/ca.pem ca-key.pem server/{ca,cert,key}.pem client/{ca,cert,key}.pem   (xbuild nodes certs)
#   $FARM/certs/ca-bundle.pem   system CAs + farm CA (SSL_CERT_FILE for clients)
#   $FARM/certs/skopeo/ca.crt   farm CA for `skopeo --cert-dir` (it only reads *.crt)

XBUILD_BIN=${XBUILD_BIN:-$REPO_ROOT/bin/xbuild}

# certs_valid : all files there, both leaf certs chain to the CA, valid for >1 day, server SANs complete.
certs_valid() {
  local f h sans
  for f in ca.pem ca-key.pem server/ca.pem server/cert.pem server/key.pem client/ca.pem client/cert.pem client/key.pem; do
    [ -s "$CERTS/$f" ] || return 1
  done
  openssl verify -CAfile "$CERTS/ca.pem" "$CERTS/server/cert.pem" "$CERTS/client/cert.pem" >/dev/null 2>&1 || return 1
  openssl x509 -in "$CERTS/server/cert.pem" -noout -checkend 86400 >/dev/null 2>&1 || return 1
  openssl x509 -in "$CERTS/client/cert.pem" -noout -checkend 86400 >/dev/null 2>&1 || return 1
  sans=$(openssl x509 -in "$CERTS/server/cert.pem" -noout -ext subjectAltName 2>/dev/null | tr ',' '\n' | sed 's/^ *//')
  for h in "${CERT_HOSTS[@]}"; do
    if [[ $h =~ ^[0-9.]+$ ]]; then grep -qx "IP Address:$h" <<<"$sans" || return 1
    else grep -qx "DNS:$h" <<<"$sans" || return 1; fi
  done
}

make_certs() {
  local log=$FARM/logs/certs.log args=() h force=()
  mkdir -p "$CERTS"
  if certs_valid; then
    info "certificates in ${CERTS#"$FARM"/}/ are valid; reused"
  else
    [ -x "$XBUILD_BIN" ] || die "xbuild binary not found at $XBUILD_BIN (run 'make build' or set XBUILD_BIN)"
    "$XBUILD_BIN" nodes certs --help >/dev/null 2>&1 \
      || die "'$XBUILD_BIN nodes certs' is not available in this build of xbuild (rebuild bin/xbuild: make build)"
    for h in "${CERT_HOSTS[@]}"; do args+=(--host "$h"); done
    # anything left from an earlier, incomplete or outdated set is replaced
    [ -e "$CERTS/ca.pem" ] || [ -e "$CERTS/server" ] || [ -e "$CERTS/client" ] && force=(--force)
    info "xbuild nodes certs --out ${CERTS#"$FARM"/} ${args[*]} --days 3650 ${force[*]}"
    run_logged "$log" "$XBUILD_BIN" nodes certs --out "$CERTS" "${args[@]}" --days 3650 "${force[@]}"
    certs_valid || die "xbuild nodes certs ran but the result does not verify (missing file, SAN or chain)" "$log"
    info "new certificates in ${CERTS#"$FARM"/}/"
  fi
  chmod 0600 "$CERTS/ca-key.pem" "$CERTS/server/key.pem" "$CERTS/client/key.pem"
  mkdir -p "$SKOPEO_CERTS"
  cmp -s "$CERTS/ca.pem" "$SKOPEO_CERTS/ca.crt" || install -m 0644 "$CERTS/ca.pem" "$SKOPEO_CERTS/ca.crt"
  local sys=/etc/ssl/certs/ca-certificates.crt tmp=$CA_BUNDLE.tmp
  { [ -s "$sys" ] && cat "$sys"; printf '\n# xbuild farm CA\n'; cat "$CERTS/ca.pem"; } >"$tmp"
  if cmp -s "$tmp" "$CA_BUNDLE"; then rm -f "$tmp"; else mv -f "$tmp" "$CA_BUNDLE"; chmod 0644 "$CA_BUNDLE"; fi
  CA_SHA=$(sha256sum "$CERTS/ca.pem" "$SERVER_CERT" | sha256sum | cut -c1-16)
}
