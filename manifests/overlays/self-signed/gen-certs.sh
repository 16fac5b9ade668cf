#!/bin/sh
# Makes the certificates for the self-signed overlay, with openssl, into files that
# kustomization.yaml turns into the Secret upgrade-guard-tls and the caBundle of both webhook
# configurations:
#
#   ca.crt   the new CA, followed by the previous CA when there was one (see "Rotation")
#   tls.crt  serving certificate for <service>.<namespace>.svc, signed by the new CA
#   tls.key  its private key (mode 600; keep it out of version control: .gitignore here)
#
# The CA's private key exists only in a temporary folder while this script runs: nothing can
# sign another certificate with it afterwards.
#
# Usage:  gen-certs.sh [--out DIR] [--service NAME] [--namespace NS] [--days N] [--ca-days N]
#         then: kubectl apply -k <this folder>
#
# Rotation: run the script again before tls.crt expires (default 365 days), then apply. The
# new ca.crt keeps the previous CA after the new one, so the API server trusts both the pods
# that still serve the old certificate and those that already reloaded the new one.
set -eu

here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
out=$here
service=upgrade-guard
namespace=upgrade-guard
days=365
ca_days=1825

while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --service) service=$2; shift 2 ;;
    --namespace) namespace=$2; shift 2 ;;
    --days) days=$2; shift 2 ;;
    --ca-days) ca_days=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gen-certs.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
done

command -v openssl >/dev/null 2>&1 || { echo "gen-certs.sh: openssl not found" >&2; exit 1; }
mkdir -p "$out"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
umask 077

dns="$service.$namespace.svc"

cat >"$tmp/openssl.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = $dns
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:$dns, DNS:$dns.cluster.local
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

# CA: ECDSA P-256, self-signed.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ca.key" 2>/dev/null
openssl req -x509 -new -config "$tmp/openssl.cnf" -extensions ca -key "$tmp/ca.key" \
  -subj "/CN=$service-ca" -sha256 -days "$ca_days" -out "$tmp/ca.crt"

# Serving certificate. The API server checks the subjectAltName, not the CN.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/tls.key" 2>/dev/null
openssl req -new -config "$tmp/openssl.cnf" -key "$tmp/tls.key" -out "$tmp/tls.csr"
openssl x509 -req -in "$tmp/tls.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" \
  -set_serial "0x$(openssl rand -hex 16)" -sha256 -days "$days" \
  -extfile "$tmp/openssl.cnf" -extensions server -out "$tmp/tls.crt" 2>/dev/null
openssl verify -CAfile "$tmp/ca.crt" "$tmp/tls.crt" >/dev/null

# Keep the previous CA (the first certificate of the old ca.crt) while it is still valid.
cp "$tmp/ca.crt" "$tmp/bundle.crt"
if [ -f "$out/ca.crt" ]; then
  awk '/-----BEGIN CERTIFICATE-----/ { n++ } n == 1 { print } /-----END CERTIFICATE-----/ && n == 1 { exit }' \
    "$out/ca.crt" >"$tmp/previous.crt"
  if [ -s "$tmp/previous.crt" ] && openssl x509 -checkend 0 -noout -in "$tmp/previous.crt" >/dev/null 2>&1; then
    cat "$tmp/previous.crt" >>"$tmp/bundle.crt"
  fi
fi

cat "$tmp/bundle.crt" >"$out/ca.crt"
cat "$tmp/tls.crt" >"$out/tls.crt"
cat "$tmp/tls.key" >"$out/tls.key"
chmod 644 "$out/ca.crt" "$out/tls.crt"
chmod 600 "$out/tls.key"

echo "gen-certs.sh: wrote $out/ca.crt, $out/tls.crt, $out/tls.key for $dns (valid $days days)"
