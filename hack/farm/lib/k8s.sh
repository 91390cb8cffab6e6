# shellcheck shell=bash
# k8s.sh — the opt-in single-node Kubernetes cluster of the farm (FARM_K8S=1 make farm-up).
# Everything comes from what this machine reaches: Kubernetes compiled from the Go module proxy, Debian's
# etcd-server, containerd, runc and CNI plugins, images assembled locally (no registry pull).
# Everything lives in $FARM/k8s; k8s_down undoes every host side effect (sysctls, iptables chains, cgroups,
# mounts, the bridge, the pod route and its guards).

K8S_VERSION=${FARM_K8S_VERSION:-v1.34.2}
K8S_DIR=$FARM/k8s
K8S_BIN=$K8S_DIR/bin
K8S_COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kubelet)

# k8s_staging_modules : the staging modules of k8s.io/kubernetes (its go.mod replaces them with ./staging/...,
# which a module that requires k8s.io/kubernetes must replace with the published v0.X.Y versions).
k8s_staging_modules() {
  local gomod
  gomod=$(cd / && GOFLAGS='' GOWORK=off GOTOOLCHAIN=local go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | jq -er .GoMod) || return 1
  awk '/^replace \(/ {r=1; next} r && /^\)/ {r=0} r && $2 == "=>" && $3 ~ /^\.\/staging\// {print $1}' "$gomod"
}

# k8s_compile : kube-apiserver, kube-controller-manager, kube-scheduler and kubelet at $K8S_VERSION into
# $K8S_BIN (about 11 min on 2 cores from a cold Go cache; skipped when they already report the version).
k8s_compile() {
  local log=$FARM/logs/k8s-compile.log src=$K8S_DIR/src c ok=1 staging sv m major minor ld
  for c in "${K8S_COMPONENTS[@]}"; do
    [ -x "$K8S_BIN/$c" ] && "$K8S_BIN/$c" --version 2>/dev/null | grep -q " $K8S_VERSION\$" || ok=0
  done
  if [ $ok = 1 ]; then info "kubernetes $K8S_VERSION already built"; return 0; fi
  command -v go >/dev/null || die "go not found"
  info "compiling kubernetes $K8S_VERSION (${K8S_COMPONENTS[*]}) from the Go module proxy (about 11 min on 2 cores)..."
  mkdir -p "$src" "$K8S_BIN"
  staging=$(k8s_staging_modules 2>>"$log") || die "cannot read k8s.io/kubernetes@$K8S_VERSION's go.mod" "$log"
  sv=v0.${K8S_VERSION#v1.}
  {
    printf 'module xbuild.test/farm-k8s\n\ngo 1.24.0\n\ngodebug default=go1.24\n\nrequire k8s.io/kubernetes %s\n\nrequire (\n' "$K8S_VERSION"
    for m in $staging; do printf '\t%s %s\n' "$m" "$sv"; done
    printf ')\n\nreplace (\n'
    for m in $staging; do printf '\t%s => %s %s\n' "$m" "$m" "$sv"; done
    printf ')\n'
  } >"$src/go.mod"
  {
    printf '//go:build tools\n\n// Package tools pins the Kubernetes commands the farm compiles.\npackage tools\n\nimport (\n'
    for c in "${K8S_COMPONENTS[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
    printf ')\n'
  } >"$src/tools.go"
  (cd "$src" && run_logged "$log" env GOFLAGS=-mod=mod GOWORK=off GOTOOLCHAIN=local go mod tidy)
  major=${K8S_VERSION#v}; major=${major%%.*}; minor=${K8S_VERSION#v*.}; minor=${minor%%.*}
  ld="-s -w"
  for kv in "gitVersion=$K8S_VERSION" "gitMajor=$major" "gitMinor=$minor" "gitTreeState=clean" \
            "gitCommit=goproxy" "buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"; do
    ld="$ld -X k8s.io/component-base/version.$kv -X k8s.io/client-go/pkg/version.$kv"
  done
  local pkgs=()
  for c in "${K8S_COMPONENTS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  (cd "$src" && run_logged "$log" env CGO_ENABLED=0 GOWORK=off GOFLAGS=-buildvcs=false GOTOOLCHAIN=local \
     go build -trimpath -ldflags "$ld" -o "$K8S_BIN/" "${pkgs[@]}")
  for c in "${K8S_COMPONENTS[@]}"; do
    "$K8S_BIN/$c" --version 2>/dev/null | grep -q " $K8S_VERSION\$" || die "$c does not report $K8S_VERSION" "$log"
  done
  info "$("$K8S_BIN/kubelet" --version)"
}

# ---------------------------------------------------------------------------------------------------------------
# layout. Everything listens on 127.0.0.1 except the pod network: bridge xbf-k8s0 with the host at 10.244.0.1,
# pods in 10.244.0.0/24 with no route beyond it (no default route, no masquerade, and a FORWARD drop for the
# subnet in chain XBUILD-K8S in case something turns ip_forward on). The pods reach the farm's registries on
# 10.244.0.1 through socat forwarders, under the name registry.xbuild.test (the BuildKit image adds it to
# /etc/hosts), with the farm's CA from the node's buildkitd.toml.

K8S_BRIDGE=xbf-k8s0
K8S_POD_NET=10.244.0.0/24
K8S_HOST_IP=10.244.0.1
K8S_API_PORT=16443
K8S_ETCD_PORT=16379
K8S_KUBELET_PORT=16250
K8S_CGROUP=xbuild-k8s
K8S_CHAIN=XBUILD-K8S
K8S_NODE=localhost
K8S_IMAGE=k8s.local/buildkit:$FARM_BUILDKIT_DEFAULT
K8S_PAUSE=k8s.local/pause:1
K8S_SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops)
CTR_SOCK=$K8S_DIR/run/containerd.sock

# k8s_proc FUNCTION ARGS... : a lib/proc.sh function on the cluster's daemons, whose PID files and logs are in
# $FARM/k8s/run and $FARM/k8s/logs: not among the farm's own, so that an up.sh that does not know the cluster
# (stop_strays) leaves it alone.
k8s_proc() { FARM=$K8S_DIR "$@"; }

kubectl_k8s() { timeout 60 kubectl --kubeconfig "$K8S_DIR/kubeconfig" "$@"; }
ctr_k8s() { timeout 300 ctr --address "$CTR_SOCK" -n k8s.io "$@"; }

k8s_install() {
  local log=$FARM/logs/apt.log missing=() p
  for p in etcd-server containerd runc containernetworking-plugins; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  command -v kubectl >/dev/null || missing+=(kubernetes-client)
  [ ${#missing[@]} = 0 ] && { info "etcd-server, containerd, runc, CNI plugins, kubectl present"; return 0; }
  info "apt-get install ${missing[*]}"
  run_logged "$log" apt-get update -q
  _policy_rcd_on
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1 || rc=$?
  _policy_rcd_off
  [ $rc = 0 ] || die "apt-get install ${missing[*]} failed" "$log"
}

# k8s_certs : a CA of the cluster's own, the apiserver's and the kubelet's serving certificates, one
# system:masters client certificate every component and xbuild use, and the service-account key pair.
k8s_certs() {
  local d=$K8S_DIR/pki log=$FARM/logs/k8s-certs.log
  [ -s "$d/admin.pem" ] && [ -s "$d/sa.pub" ] && { info "cluster certificates present"; return 0; }
  mkdir -p "$d"; chmod 0700 "$d"
  run_logged "$log" openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=xbuild-farm-k8s-ca" \
    -keyout "$d/ca-key.pem" -out "$d/ca.pem"
  _k8s_leaf() { # NAME SUBJECT [SAN]
    run_logged "$log" openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$d/$1-key.pem" -out "$d/$1.csr"
    local ext=$d/$1.ext
    if [ -n "${3:-}" ]; then printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$3" >"$ext"
    else printf 'extendedKeyUsage=clientAuth\n' >"$ext"; fi
    run_logged "$log" openssl x509 -req -in "$d/$1.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial \
      -days 3650 -extfile "$ext" -out "$d/$1.pem"
    rm -f "$d/$1.csr" "$ext"
  }
  _k8s_leaf apiserver "/CN=kube-apiserver" "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
  _k8s_leaf kubelet "/CN=system:node:$K8S_NODE/O=system:nodes" "IP:127.0.0.1,DNS:localhost"
  _k8s_leaf admin "/CN=xbuild-farm-admin/O=system:masters"
  run_logged "$log" openssl genrsa -out "$d/sa.key" 2048
  run_logged "$log" openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub"
  chmod 0600 "$d"/*key*
  info "cluster CA and certificates in ${d#"$FARM"/}"
}

k8s_kubeconfig() {
  local d=$K8S_DIR/pki
  cat >"$K8S_DIR/kubeconfig.tmp" <<EOC
apiVersion: v1
kind: Config
clusters:
- name: xbuild-farm
  cluster:
    server: https://127.0.0.1:$K8S_API_PORT
    certificate-authority: $d/ca.pem
users:
- name: admin
  user:
    client-certificate: $d/admin.pem
    client-key: $d/admin-key.pem
contexts:
- name: xbuild-farm
  context: {cluster: xbuild-farm, user: admin, namespace: default}
current-context: xbuild-farm
EOC
  chmod 0600 "$K8S_DIR/kubeconfig.tmp"; mv -f "$K8S_DIR/kubeconfig.tmp" "$K8S_DIR/kubeconfig"
}

# k8s_runc_wrapper : runc for the cluster's containerd. The kubelet gives pod sandboxes oom_score_adj -998,
# and lowering it needs CAP_SYS_RESOURCE, which this VM's root lacks: runc then fails with "can't get final
# child's PID from pipe: EOF". Negative values become 0; capabilities missing from the bounding set are
# removed (privileged containers ask for all of them). Then the real runc runs with the same arguments.
k8s_runc_wrapper() {
  local w=$K8S_DIR/bin/runc-k8s drop
  drop=$(missing_caps_json)
  cat >"$w.tmp" <<EOW
#!/bin/bash
# runc-k8s — generated by xbuild hack/farm (lib/k8s.sh) for the opt-in cluster's containerd.
DROP='$drop'
EOW
  cat >>"$w.tmp" <<'EOW'
fix() { # FILE JQ-PROGRAM
  [ -f "$1" ] || return 0
  local tmp="$1.k8sfix.$$"
  if jq --argjson drop "$DROP" "$2" "$1" >"$tmp" 2>/dev/null; then cat "$tmp" >"$1"; fi
  rm -f "$tmp"
}
CAPS='with_entries(.value |= (if type == "array" then map(select(. as $c | $drop | index($c) | not)) else . end))'
sub="" bundle="" process="" prev=""
for a in "$@"; do
  case "$prev" in --bundle|-b) bundle=$a ;; --process|-p) process=$a ;; esac
  case "$a" in
    --bundle=*) bundle=${a#--bundle=} ;;
    --process=*) process=${a#--process=} ;;
    create|run|exec) [ -z "$sub" ] && case "$prev" in --root|--log|--log-format|--criu|--rootless) ;; *) sub=$a ;; esac ;;
  esac
  prev=$a
done
case "$sub" in
  create|run) fix "${bundle:-.}/config.json" "(if .process.capabilities then .process.capabilities |= $CAPS else . end) | (if (.process.oomScoreAdj // 0) < 0 then .process.oomScoreAdj = 0 else . end)" ;;
  exec) [ -n "$process" ] && fix "$process" "(if .capabilities then .capabilities |= $CAPS else . end) | (if (.oomScoreAdj // 0) < 0 then .oomScoreAdj = 0 else . end)" ;;
esac
exec /usr/sbin/runc "$@"
EOW
  chmod 0755 "$w.tmp"; mv -f "$w.tmp" "$w"
}

k8s_configs() {
  local c=$K8S_DIR/conf d=$K8S_DIR/pki
  mkdir -p "$c" "$K8S_DIR/cni/net.d" "$K8S_DIR/run"
  cat >"$c/containerd.toml" <<EOC
# generated by xbuild hack/farm (lib/k8s.sh): the opt-in cluster's private containerd
version = 2
root = "$K8S_DIR/containerd/root"
state = "$K8S_DIR/containerd/state"
[grpc]
  address = "$CTR_SOCK"
[ttrpc]
  address = "$CTR_SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$K8S_DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$K8S_PAUSE"
  disable_apparmor = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$K8S_DIR/bin/runc-k8s"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$K8S_DIR/cni/net.d"
EOC
  cat >"$K8S_DIR/cni/net.d/10-xbuild-k8s.conflist" <<EOC
{
  "cniVersion": "0.4.0",
  "name": "xbuild-k8s",
  "plugins": [{
    "type": "bridge", "bridge": "$K8S_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
    "ipam": {"type": "host-local", "dataDir": "$K8S_DIR/cni/ipam", "ranges": [[{"subnet": "$K8S_POD_NET", "gateway": "$K8S_HOST_IP"}]], "routes": []}
  }, {"type": "portmap", "capabilities": {"portMappings": true}, "snat": false}]
}
EOC
  # no nameserver: pods resolve nothing but their /etc/hosts (nothing outside the machine)
  : >"$c/resolv.conf"
  cat >"$c/kubelet.yaml" <<EOC
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $K8S_KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 16248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $d/ca.pem}
authorization: {mode: Webhook}
tlsCertFile: $d/kubelet.pem
tlsPrivateKeyFile: $d/kubelet-key.pem
cgroupDriver: cgroupfs
cgroupRoot: /$K8S_CGROUP
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$CTR_SOCK
resolvConf: $c/resolv.conf
makeIPTablesUtilChains: false
podLogsDir: $K8S_DIR/pod-logs
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
serializeImagePulls: false
EOC
  cat >"$c/buildkitd-pod.toml" <<EOC
# buildkitd.toml for the cluster's BuildKit pods (xbuild nodes add --buildkitd-config; buildx copies the CA
# into the pod's ConfigMap): docker.io through the farm's mirror, the farm CA for its three registry ports.
[registry."docker.io"]
  mirrors = ["$REG_HOST:$MIRROR_PORT"]
[registry."$REG_HOST:$MIRROR_PORT"]
  ca = ["$CA_CERT"]
[registry."$REG_HOST:$PUSH_PORT"]
  ca = ["$CA_CERT"]
[registry."$REG_HOST:$FAULT_PORT"]
  ca = ["$CA_CERT"]
EOC
}

# k8s_network : the pod bridge with the host's address, its guard route, the FORWARD drop, and the
# registry forwarders on the bridge address.
k8s_network() {
  ip link show "$K8S_BRIDGE" >/dev/null 2>&1 || ip link add "$K8S_BRIDGE" type bridge
  ip addr show dev "$K8S_BRIDGE" | grep -q "inet $K8S_HOST_IP/" || ip addr add "$K8S_HOST_IP/24" dev "$K8S_BRIDGE"
  ip link set "$K8S_BRIDGE" up
  ip route show "$K8S_POD_NET" | grep -q unreachable || ip route add unreachable "$K8S_POD_NET" metric 4000
  iptables -n -L "$K8S_CHAIN" >/dev/null 2>&1 || iptables -N "$K8S_CHAIN"
  iptables -C "$K8S_CHAIN" -s "$K8S_POD_NET" -j DROP 2>/dev/null || iptables -A "$K8S_CHAIN" -s "$K8S_POD_NET" -j DROP
  iptables -C FORWARD -j "$K8S_CHAIN" 2>/dev/null || iptables -I FORWARD -j "$K8S_CHAIN"
  local p
  for p in $REG_PORTS; do
    k8s_proc proc_start "fwd-k8s-$p" socat "TCP-LISTEN:$p,bind=$K8S_HOST_IP,reuseaddr,fork" "TCP:127.0.0.1:$p"
  done
  info "pod network $K8S_POD_NET on $K8S_BRIDGE ($K8S_HOST_IP), no route out; registries forwarded on $K8S_HOST_IP"
}

# k8s_images : the pause image (static busybox sleeping) and the BuildKit image (buildkitd, buildctl,
# buildkit-runc, an entrypoint that maps registry.xbuild.test to the host's bridge address), built on the
# farm's amd64 node as OCI archives and imported into the cluster's containerd. No registry pull.
k8s_images() {
  local c=$FARM/ctx/k8s-images log=$FARM/logs/k8s-images.log l stamp
  stamp="$K8S_IMAGE $(stat -c %Y "$BUILDKITD") v2"
  if [ "$(cat "$K8S_DIR/images.stamp" 2>/dev/null)" = "$stamp" ] && ctr_k8s images ls -q | grep -qx "$K8S_IMAGE" && ctr_k8s images ls -q | grep -qx "$K8S_PAUSE"; then
    info "$K8S_IMAGE and $K8S_PAUSE imported"; return 0
  fi
  rm -rf "$c"; mkdir -p "$c/pause" "$c/buildkit/bin" "$c/buildkit/lib"
  cat >"$c/pause/Dockerfile" <<'EOD'
# pod sandbox: busybox sleeping until the kubelet stops it
FROM busybox:1.35
ENTRYPOINT ["/bin/sleep", "infinity"]
EOD
  install -m 0755 "$BUILDKITD" "$BUILDCTL" "$c/buildkit/bin/"
  install -m 0755 /usr/sbin/runc "$c/buildkit/bin/buildkit-runc"
  for l in $(ldd /usr/sbin/runc | grep -o '/[^ ]*'); do
    mkdir -p "$c/buildkit/lib$(dirname "$l")"; cp -L "$l" "$c/buildkit/lib$l"
  done
  cat >"$c/buildkit/bin/xbuild-farm-entrypoint" <<'EOD'
#!/bin/sh
# the farm's registries answer on the node's bridge address, under the name their certificate holds
if [ -n "$XBUILD_FARM_REGISTRY_IP" ] && ! grep -q " registry.xbuild.test\$" /etc/hosts; then
  echo "$XBUILD_FARM_REGISTRY_IP registry.xbuild.test" >>/etc/hosts
fi
exec buildkitd "$@"
EOD
  chmod 0755 "$c/buildkit/bin/xbuild-farm-entrypoint"
  cat >"$c/buildkit/Dockerfile" <<EOD
# xbuild farm: BuildKit for the opt-in cluster's pods (buildx kubernetes driver)
FROM busybox:1.35
COPY lib/ /
COPY bin/ /usr/bin/
ENV XBUILD_FARM_REGISTRY_IP=$K8S_HOST_IP
VOLUME /var/lib/buildkit
ENTRYPOINT ["/usr/bin/xbuild-farm-entrypoint"]
EOD
  local name ref
  for name in pause buildkit; do
    ref=$K8S_PAUSE; [ $name = buildkit ] && ref=$K8S_IMAGE
    run_logged "$log" timeout 600 "$BUILDCTL" --addr "tcp://$NODE_AMD64_ADDR" --tlsservername localhost \
      --tlscacert "$CLIENT_DIR/ca.pem" --tlscert "$CLIENT_DIR/cert.pem" --tlskey "$CLIENT_DIR/key.pem" \
      build --progress plain --frontend dockerfile.v0 --local "context=$c/$name" --local "dockerfile=$c/$name" \
      --opt platform=linux/amd64 --output "type=oci,dest=$c/$name.tar,name=$ref"
    run_logged "$log" ctr_k8s images import --no-unpack=false "$c/$name.tar"
  done
  rm -rf "$c"
  echo "$stamp" >"$K8S_DIR/images.stamp"
  info "imported $K8S_PAUSE and $K8S_IMAGE into the cluster's containerd"
}

k8s_cgroups() {
  local h
  for h in /sys/fs/cgroup/*/; do
    [ -d "$h" ] && [ -w "$h" ] || continue
    case "$h" in */unified/) continue ;; esac
    mkdir -p "$h$K8S_CGROUP" 2>/dev/null || true
  done
}

k8s_save_sysctls() {
  local f=$K8S_DIR/run/sysctls.saved s
  [ -s "$f" ] && return 0
  for s in "${K8S_SYSCTLS[@]}"; do printf '%s=%s\n' "$s" "$(sysctl -n "$s")"; done >"$f"
}

k8s_restore_sysctls() {
  local kv f=$K8S_DIR/run/sysctls.saved
  [ -s "$f" ] || return 0
  while IFS= read -r kv; do
    [ "$(sysctl -n "${kv%%=*}")" = "${kv#*=}" ] || sysctl -q -w "$kv" >/dev/null 2>&1 || warn "cannot restore $kv"
  done <"$f"
}

k8s_up() {
  mkdir -p "$K8S_DIR"/{bin,run,logs,conf,etcd,pod-logs,kubelet} "$FARM/logs"
  k8s_install
  k8s_compile
  k8s_certs
  k8s_kubeconfig
  k8s_runc_wrapper
  k8s_configs
  k8s_save_sysctls
  k8s_cgroups
  touch "$K8S_DIR/enabled"   # from now on down.sh takes the cluster down first
  k8s_network
  local d=$K8S_DIR/pki
  k8s_proc proc_start k8s-etcd etcd --name xbuild-farm --data-dir "$K8S_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$K8S_ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$K8S_ETCD_PORT" \
    --listen-peer-urls http://127.0.0.1:16380 --initial-advertise-peer-urls http://127.0.0.1:16380 \
    --initial-cluster xbuild-farm=http://127.0.0.1:16380
  k8s_proc proc_start k8s-containerd containerd --config "$K8S_DIR/conf/containerd.toml"
  wait_until "the cluster's containerd" 30 test -S "$CTR_SOCK" || die "containerd did not start" "$K8S_DIR/logs/k8s-containerd.log"
  k8s_images
  k8s_proc proc_start k8s-apiserver "$K8S_BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$K8S_ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$K8S_API_PORT" \
    --tls-cert-file "$d/apiserver.pem" --tls-private-key-file "$d/apiserver-key.pem" --client-ca-file "$d/ca.pem" \
    --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$d/sa.pub" \
    --service-account-signing-key-file "$d/sa.key" --service-cluster-ip-range 10.96.0.0/24 \
    --authorization-mode Node,RBAC --allow-privileged=true --endpoint-reconciler-type none \
    --kubelet-client-certificate "$d/admin.pem" --kubelet-client-key "$d/admin-key.pem" \
    --kubelet-preferred-address-types Hostname
  wait_until "the apiserver" 60 kubectl_k8s get --raw /readyz || die "the apiserver is not ready" "$K8S_DIR/logs/k8s-apiserver.log"
  k8s_proc proc_start k8s-controller-manager "$K8S_BIN/kube-controller-manager" --kubeconfig "$K8S_DIR/kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 16257 --leader-elect=false \
    --service-account-private-key-file "$d/sa.key" --root-ca-file "$d/ca.pem"
  k8s_proc proc_start k8s-scheduler "$K8S_BIN/kube-scheduler" --kubeconfig "$K8S_DIR/kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 16259 --leader-elect=false
  k8s_proc proc_start k8s-kubelet "$K8S_BIN/kubelet" --config "$K8S_DIR/conf/kubelet.yaml" --kubeconfig "$K8S_DIR/kubeconfig" \
    --root-dir "$K8S_DIR/kubelet" --hostname-override "$K8S_NODE" --node-ip "$K8S_HOST_IP"
  wait_until "node $K8S_NODE Ready" 90 sh -c "kubectl --kubeconfig '$K8S_DIR/kubeconfig' get node '$K8S_NODE' -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True" \
    || die "node $K8S_NODE is not Ready" "$K8S_DIR/logs/k8s-kubelet.log"
  # the kubelet set vm.overcommit_memory=1, kernel.panic=10, kernel.panic_on_oops=1 when it started (and does
  # not look again): on a shared machine an oops must not reboot it, so put them back at once
  k8s_restore_sysctls
  wait_until "service account default" 60 kubectl_k8s -n default get serviceaccount default || die "no default service account" "$K8S_DIR/logs/k8s-controller-manager.log"
  kubectl_k8s get namespace buildkit >/dev/null 2>&1 || kubectl_k8s create namespace buildkit >/dev/null
  wait_until "service account buildkit/default" 60 kubectl_k8s -n buildkit get serviceaccount default || die "no service account in namespace buildkit"
  k8s_facts
  info "cluster up: $(kubectl_k8s version -o json 2>/dev/null | jq -r .serverVersion.gitVersion), node $K8S_NODE Ready; KUBECONFIG=$K8S_DIR/kubeconfig"
}

# k8s_down : delete the pods (CNI removes their veths), stop every daemon, then undo each host side effect.
k8s_down() {
  [ -d "$K8S_DIR" ] || return 0
  if k8s_proc proc_alive k8s-apiserver && k8s_proc proc_alive k8s-kubelet; then
    kubectl_k8s delete namespace buildkit --wait=true --timeout=60s >/dev/null 2>&1 || true
    kubectl_k8s -n default delete deployments,pods --all --wait=true --timeout=60s >/dev/null 2>&1 || true
  fi
  k8s_proc proc_stop k8s-kubelet 30
  k8s_proc proc_stop_group 30 k8s-scheduler k8s-controller-manager
  k8s_proc proc_stop k8s-apiserver 30
  k8s_proc proc_stop k8s-containerd 30
  k8s_proc proc_stop k8s-etcd 30
  local p
  for p in $REG_PORTS; do k8s_proc proc_stop "fwd-k8s-$p" 10; done
  # shims and containers of the cluster's containerd that outlived it
  local pid cl
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $CTR_SOCK" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  # network namespaces of pods the kubelet did not tear down (an address in the pod network)
  local ns
  for ns in /run/netns/cni-*; do
    [ -e "$ns" ] || continue
    nsenter "--net=$ns" ip -4 addr 2>/dev/null | grep -q "inet ${K8S_POD_NET%.*/*}\." || continue
    nsenter "--net=$ns" ip link del eth0 2>/dev/null
    umount "$ns" 2>/dev/null; rm -f "$ns"
  done
  # mounts under the cluster's directory (kubelet root bind mount, pod volumes, overlay snapshots)
  awk -v a="$K8S_DIR/" 'index($2, a) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || warn "cannot unmount $m"
  done
  # cgroups: depth first
  local h
  for h in /sys/fs/cgroup/*/"$K8S_CGROUP"; do
    [ -d "$h" ] || continue
    find "$h" -depth -type d -exec rmdir {} \; 2>/dev/null || warn "cgroup $h is still in use"
  done
  # network: bridge, guard route, FORWARD chain; any KUBE-* chain the kubelet made
  ip link del "$K8S_BRIDGE" 2>/dev/null || true
  ip route del unreachable "$K8S_POD_NET" metric 4000 2>/dev/null || true
  iptables -D FORWARD -j "$K8S_CHAIN" 2>/dev/null || true
  iptables -F "$K8S_CHAIN" 2>/dev/null && iptables -X "$K8S_CHAIN" 2>/dev/null || true
  local t c
  for t in filter nat mangle; do
    for c in $(iptables -t $t -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}'); do
      iptables -t $t -S 2>/dev/null | awk -v c="$c" '$1 == "-A" && $0 ~ ("-j " c "( |$)") {sub("^-A", "-D"); print}' | while read -r rule; do
        # shellcheck disable=SC2086
        iptables -t $t $rule 2>/dev/null || true
      done
      iptables -t $t -F "$c" 2>/dev/null; iptables -t $t -X "$c" 2>/dev/null || true
    done
  done
  rm -f /var/lib/cni/results/xbuild-k8s-* 2>/dev/null
  # sysctls the kubelet set
  k8s_restore_sysctls
  rm -f "$K8S_DIR/run/sysctls.saved"
  rm -f "$K8S_DIR/enabled" "$K8S_DIR/k8s.json"
  info "cluster down: daemons stopped, pods gone, bridge/route/chains removed, sysctls restored"
}

# k8s_facts : $FARM/k8s/k8s.json, what tests and people need to use the cluster.
k8s_facts() {
  jq -n --arg kubeconfig "$K8S_DIR/kubeconfig" --arg image "$K8S_IMAGE" --arg ns buildkit \
    --arg bkconf "$K8S_DIR/conf/buildkitd-pod.toml" --arg version "$K8S_VERSION" --arg api "https://127.0.0.1:$K8S_API_PORT" \
    '{kubeconfig: $kubeconfig, apiserver: $api, version: $version, namespace: $ns, image: $image, buildkitdConfig: $bkconf,
      endpoint: ("kubernetes://" + $ns)}' >"$K8S_DIR/k8s.json.tmp"
  mv -f "$K8S_DIR/k8s.json.tmp" "$K8S_DIR/k8s.json"
}
