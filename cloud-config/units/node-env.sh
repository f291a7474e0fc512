#!/usr/bin/bash
# swarmkeeper: this instance's id and private address from the EC2 metadata service
# (IMDSv2), written to /run/swarmkeeper/node.env for the units that need them. A file of
# its own rather than an inline ExecStart, so systemd's $ and % expansion never touches it.
set -euo pipefail
mkdir -p /run/swarmkeeper
md=http://169.254.169.254/latest
# docker waits for this script (After=): every request is bounded, and so are its
# retries, so a metadata service that hangs or keeps failing delays docker by a minute
# or so, never for ever (the unit's TimeoutStartSec is the last guard).
get="curl -sSf --connect-timeout 2 --max-time 5 --retry 10 --retry-max-time 40"
t=$($get --retry-connrefused -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 300" "$md/api/token")
id=$($get -H "X-aws-ec2-metadata-token: $t" "$md/meta-data/instance-id")
ip=$($get -H "X-aws-ec2-metadata-token: $t" "$md/meta-data/local-ipv4")
# The engine label maps the swarm node to its instance (hostnames are not unique);
# docker's metrics listen on the private address; its API stays on the unix socket.
tls=""
{{dockerTlsScript}}
printf 'INSTANCE_ID=%s\nPRIVATE_IPV4=%s\nDOCKER_OPTS=--label=swarmkeeper.instance=%s --label=swarmkeeper.cluster={{cluster}} --label=swarmkeeper.role={{role}} --metrics-addr=%s:9323%s\n' \
  "$id" "$ip" "$id" "$ip" "$tls" > /run/swarmkeeper/node.env
