# shellcheck shell=bash
# The cluster's PKI, made with openssl into $STATE/pki (once; `down` keeps it, `down --purge`
# removes it). One CA signs every serving and client certificate, so a pod verifies the kubelet's
# serving certificate with its ServiceAccount's ca.crt (the kube-root-ca.crt ConfigMap); a
# separate front-proxy CA authenticates the aggregator to metrics-server.

PKI=$STATE/pki

# `_pki_cert NAME CA CN O KIND SANS`: an ECDSA P-256 key and a certificate signed by CA (ca or
# front-proxy-ca), KIND server|client|both, SANS an openssl subjectAltName value or "".
_pki_cert() {
  local name=$1 ca=$2 cn=$3 o=$4 kind=$5 sans=$6 usage subj
  subj="/CN=$cn"
  [ -f "$PKI/$name.crt" ] && return 0
  case $kind in
    server) usage=serverAuth ;;
    client) usage=clientAuth ;;
    both) usage=serverAuth,clientAuth ;;
  esac
  [ -n "$o" ] && subj="/O=$o$subj"
  {
    echo "[ext]"
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [ -n "$sans" ] && echo "subjectAltName=$sans"
  } >"$PKI/$name.ext"
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$name.key"
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" \
    -CAcreateserial -days 3650 -extfile "$PKI/$name.ext" -extensions ext \
    -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

_pki_ca() {
  local name=$1 cn=$2
  [ -f "$PKI/$name.crt" ] && return 0
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$name.key"
  openssl req -x509 -new -key "$PKI/$name.key" -subj "/CN=$cn" -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -out "$PKI/$name.crt"
}

# `_pki_kubeconfig NAME USER`: a kubeconfig for the client certificate NAME.
_pki_kubeconfig() {
  local name=$1 user=$2
  cat >"$PKI/$name.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: podmeter
    cluster:
      server: https://$NODE_IP:$APISERVER_PORT
      certificate-authority: $PKI/ca.crt
users:
  - name: $user
    user:
      client-certificate: $PKI/$name.crt
      client-key: $PKI/$name.key
contexts:
  - name: $user@podmeter
    context:
      cluster: podmeter
      user: $user
current-context: $user@podmeter
EOF
}

make_pki() {
  # Made again whenever this file or the addresses change (e.g. a new SAN).
  local id
  id="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16) $NODE_NAME $NODE_IP $KUBERNETES_SERVICE_IP"
  if [ "$(cat "$PKI/id" 2>/dev/null)" != "$id" ]; then
    rm -rf "$PKI"
  fi
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  (
    umask 077
    _pki_ca ca podmeter-cluster-ca
    _pki_ca front-proxy-ca podmeter-cluster-front-proxy-ca
    local api_sans="IP:$NODE_IP,IP:$KUBERNETES_SERVICE_IP,IP:127.0.0.1,DNS:kubernetes"
    api_sans+=",DNS:kubernetes.default,DNS:kubernetes.default.svc"
    api_sans+=",DNS:kubernetes.default.svc.cluster.local,DNS:localhost"
    _pki_cert apiserver ca kube-apiserver "" server "$api_sans"
    _pki_cert apiserver-kubelet-client ca kube-apiserver-kubelet-client system:masters client ""
    _pki_cert kubelet-serving ca "system:node:$NODE_NAME" system:nodes server \
      "IP:$NODE_IP,DNS:$NODE_NAME"
    _pki_cert kubelet ca "system:node:$NODE_NAME" system:nodes client ""
    _pki_cert admin ca podmeter-admin system:masters client ""
    _pki_cert controller-manager ca system:kube-controller-manager "" client ""
    _pki_cert scheduler ca system:kube-scheduler "" client ""
    _pki_cert kube-proxy ca system:kube-proxy "" client ""
    _pki_cert metrics-server ca system:metrics-server "" both \
      "IP:$NODE_IP,DNS:metrics-server.kube-system.svc" # the aggregator checks the Service name
    _pki_cert front-proxy-client front-proxy-ca front-proxy-client "" client ""
    if [ ! -f "$PKI/sa.key" ]; then
      openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
      openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
    fi
  ) || die "pki: openssl failed making the certificates in $PKI"
  echo "$id" >"$PKI/id"
  local n
  for n in admin:podmeter-admin kubelet:"system:node:$NODE_NAME" \
    controller-manager:system:kube-controller-manager scheduler:system:kube-scheduler \
    kube-proxy:system:kube-proxy metrics-server:system:metrics-server; do
    _pki_kubeconfig "${n%%:*}" "${n#*:}"
  done
}
