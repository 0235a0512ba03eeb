#!/usr/bin/env bash
# Runs one benchmark: bench/run.sh boot|scale|memory|volumes|hotplug|ovn|dhcp|failover|ha|backup|ceph|flood [options]
#   boot    control-plane overhead of a boot (create to ACTIVE minus QEMU's own start), 20 boots
#   scale   1,000 simulated hosts renewing every second, 10,000 servers from 32 clients; create rate, latencies, list latency
#           ("scale HOSTS SERVERS CLIENTS RENEW_SECONDS")
#   memory  RSS of the all-in-one process idle and with 10 guests
#   volumes 50 volumes from a 1 GiB image against qemu-img convert full copies; time and space
#   hotplug attach request to disk visible in a running guest (and detach), 20 times
#   ovn     the controller converging 1,000 ports and 100 security-group rules into OVN's northbound database
#   dhcp    port create to a DHCP lease held on a simulated host, and server create to a guest holding its lease
#   ha      instance HA: host power-off to the guest ready elsewhere, with the breakdown, 20 trials;
#           "ha self-fence": without BMCs (the leader waits for the self-fence deadline)
#   backup  full backup and restore of a 4 GiB volume against qemu-img convert, and an incremental with 1% changed
#           ("backup SIZE_GIB RUNS"; default 4 3)
#   ceph    on the test kit's Ceph: "ceph disks": 50 root disks from a 1 GiB image (clones) against full copies;
#           "ceph backup": full backup of a 4 GiB RBD volume, then an incremental with 1% changed ("ceph MODE RUNS")
#   flood   admin logins and host-lease renewals while the public API is flooded (slow bodies, wrong passwords, both)
#           against the same figures idle ("flood SECONDS RUNS"; default 30 3)
#   failover kill -9 of the leader of three controllers on etcd to the new leader's first reconcile, 20 trials;
#            "failover rolling": failed requests through HAProxy at 20 requests/s over rolling restarts
# Benchmarks are not tests: they print medians and percentiles, they do not assert.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
mvn -q -B -DskipTests install -pl bench -am
mvn -q -B -pl bench dependency:build-classpath -Dmdep.outputFile="$ROOT/bench/target/classpath.txt"
CP=$(cat "$ROOT/bench/target/classpath.txt")
case "${1:-}" in
  boot) shift; exec java -Dlogback.configurationFile="$ROOT/bench/src/main/resources/logback.xml" -Xmx2g -cp "$ROOT/bench/target/classes:$CP" -Dhalcyon.root="$ROOT" io.halcyon.bench.BootOverheadBench "$@" ;;
  scale) shift; exec java -Dlogback.configurationFile="$ROOT/bench/src/main/resources/logback.xml" -Xmx8g -Xss512k -cp "$ROOT/bench/target/classes:$CP" -Dhalcyon.root="$ROOT" io.halcyon.bench.ScaleBench "$@" ;;
  memory) shift; exec java -Dlogback.configurationFile="$ROOT/bench/src/main/resources/logback.xml" -cp "$ROOT/bench/target/classes:$CP" -Dhalcyon.root="$ROOT" io.halcyon.bench.MemoryBench "$@" ;;
  volumes|hotplug) exec java -Dlogback.configurationFile="$ROOT/bench/src/main/resources/logback.xml" -Xmx2g -cp "$ROOT/bench/target/classes:$CP" -Dhalcyon.root="$ROOT" io.halcyon.bench.VolumeBench "$@" ;;
  failover) shift; exec java -Dlogback.configurationFile="$ROOT/bench/src/main/resources/logback.xml" -Xmx1g -cp "$ROOT/bench/target/classes:$CP" -Dhalcyon.root="$ROOT" io.halcyon.bench.FailoverBench "$@" ;;
  backup) shift; exec java -Dlogback.configurationFile="$ROOT/bench/src/main/resources/logback.xml" -Xmx2g -cp "$ROOT/bench/target/classes:$CP" -Dhalcyon.root="$ROOT" io.halcyon.bench.BackupBench "$@" ;;
  ha) shift; exec java -Dlogback.configurationFile="$ROOT/bench/src/main/resources/logback.xml" -Xmx1g -cp "$ROOT/bench/target/classes:$CP" -Dhalcyon.root="$ROOT" io.halcyon.bench.HaFailoverBench "$@" ;;
  ceph) shift; exec java -Dlogback.configurationFile="$ROOT/bench/src/main/resources/logback.xml" -Xmx2g -cp "$ROOT/bench/target/classes:$CP" -Dhalcyon.root="$ROOT" io.halcyon.bench.CephBench "$@" ;;
  flood) shift; exec java -Dlogback.configurationFile="$ROOT/bench/src/main/resources/logback.xml" -Xmx2g -cp "$ROOT/bench/target/classes:$CP" -Dhalcyon.root="$ROOT" io.halcyon.bench.FloodBench "$@" ;;
  ovn|dhcp) exec java -Dlogback.configurationFile="$ROOT/bench/src/main/resources/logback.xml" -Xmx2g -cp "$ROOT/bench/target/classes:$CP" -Dhalcyon.root="$ROOT" io.halcyon.bench.OvnBench "$@" ;;
  *) echo "usage: bench/run.sh boot|scale|memory|volumes|hotplug|ovn|dhcp|failover|ha|backup|ceph|flood" >&2; exit 2 ;;
esac
