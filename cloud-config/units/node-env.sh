#!/usr/bin/bash
# swarmkeeper: this instance's id and private address from the EC2 metadata service
# (IMDSv2), written to /run/swarmkeeper/node.env for the units that need them. A file of
# its own rather than an inline ExecStart, so systemd's $ and % expansion never touches it.
set -euo pipefail
mkdir -p /run/swarmkeeper
md=http://169.254.169.254/latest
t=$(curl -sSf --retry 10 --retry-connrefused -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 300" "$md/api/token")
id=$(curl -sSf --retry 10 -H "X-aws-ec2-metadata-token: $t" "$md/meta-data/instance-id")
ip=$(curl -sSf --retry 10 -H "X-aws-ec2-metadata-token: $t" "$md/meta-data/local-ipv4")
# The engine label maps the swarm node to its instance (hostnames are not unique);
# docker's metrics listen on the private address; its API stays on the unix socket.
tls=""
{{dockerTlsScript}}
printf 'INSTANCE_ID=%s\nPRIVATE_IPV4=%s\nDOCKER_OPTS=--label=swarmkeeper.instance=%s --label=swarmkeeper.cluster={{cluster}} --label=swarmkeeper.role={{role}} --metrics-addr=%s:9323%s\n' \
  "$id" "$ip" "$id" "$ip" "$tls" > /run/swarmkeeper/node.env
