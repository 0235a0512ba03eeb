package io.halcyon.agent.net;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.halcyon.config.ConfigException;
import io.halcyon.model.network.Ipv4;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The host's networks (the {@code agent.network} section): its interfaces and what each carries
 * (management, storage, tenant overlay, provider networks, migration), tagged or not, with address,
 * mask and gateway; and whether the agent runs the host's Open vSwitch and ovn-controller.
 */
public record HostNetworkConfig(@JsonProperty("interfaces") List<Iface> interfaces, @JsonProperty("ovs") Ovs ovs,
                                @JsonProperty("ovnSouthbound") String ovnSouthbound) {
    public static final Set<String> ROLES = Set.of("management", "storage", "tenant", "provider", "migration");

    public HostNetworkConfig {
        interfaces = interfaces == null ? List.of() : List.copyOf(interfaces);
    }

    public static HostNetworkConfig none() {
        return new HostNetworkConfig(List.of(), null, null);
    }

    /** One interface: a NIC by name, untagged or tagged with {@code vlan}, and the traffic it carries. */
    public record Iface(@JsonProperty("name") String name, @JsonProperty("roles") List<String> roles, @JsonProperty("vlan") Integer vlan,
                        @JsonProperty("address") String address, @JsonProperty("gateway") String gateway,
                        @JsonProperty("physicalNetwork") String physicalNetwork) {
        public Iface {
            roles = roles == null ? List.of() : List.copyOf(roles);
        }

        public boolean has(String role) {
            return roles.contains(role);
        }

        /** The address without its prefix length. */
        public String ip() {
            return address == null ? null : address.substring(0, address.indexOf('/'));
        }
    }

    /**
     * The host's Open vSwitch: {@code datapath} is {@code system} (the kernel module) or
     * {@code netdev} (userspace, where the kernel has no openvswitch module); {@code runDir} holds
     * its database, sockets and logs (short: UNIX socket paths are limited to 107 bytes). Bridges
     * are named {@code bridgePrefix} + int, phy or the physical network, so two clouds on one machine
     * keep theirs apart. {@code encapIp} stands in for a tenant interface on a single host, where
     * no tunnel is ever used.
     */
    public record Ovs(@JsonProperty("datapath") String datapath, @JsonProperty("runDir") Path runDir,
                      @JsonProperty("bridgePrefix") String bridgePrefix, @JsonProperty("encapIp") String encapIp) {
        public Ovs {
            datapath = datapath == null ? "system" : datapath;
            bridgePrefix = bridgePrefix == null ? "br-" : bridgePrefix;
        }

        public Ovs(String datapath, Path runDir) {
            this(datapath, runDir, null, null);
        }

        public String bridge(String suffix) {
            String b = bridgePrefix + suffix;
            return b.length() > 15 ? b.substring(0, 15) : b;
        }
    }

    public Iface tenant() {
        return interfaces.stream().filter(i -> i.has("tenant")).findFirst().orElse(null);
    }

    /** Physical network name to the interface that carries it. */
    public Map<String, Iface> providers() {
        var out = new java.util.TreeMap<String, Iface>();
        interfaces.stream().filter(i -> i.has("provider")).forEach(i -> out.put(i.physicalNetwork(), i));
        return out;
    }

    /** Refuses a wrong configuration with a message naming the field; {@code nicExists} tells which NICs the host has. */
    public HostNetworkConfig validate(Predicate<String> nicExists) {
        var names = new HashSet<String>();
        var subnets = new ArrayList<Map.Entry<String, Ipv4.Cidr>>();
        var roleOwners = new HashMap<String, String>();
        var physnets = new HashSet<String>();
        for (int i = 0; i < interfaces.size(); i++) {
            Iface f = interfaces.get(i);
            String at = "agent.network.interfaces[" + i + "]";
            if (f.name() == null || !f.name().matches("[A-Za-z0-9_.\\-]{1,15}")) {
                throw new ConfigException(at + ".name must be a NIC name of 1 to 15 characters, not " + f.name());
            }
            at = "agent.network.interfaces[" + i + "] (" + f.name() + ")";
            String key = f.name() + (f.vlan() == null ? "" : "." + f.vlan());
            if (!names.add(key)) {
                throw new ConfigException(at + ": " + key + " is declared twice");
            }
            if (!nicExists.test(f.name())) {
                throw new ConfigException(at + ".name: this host has no NIC named " + f.name());
            }
            if (f.vlan() != null && (f.vlan() < 1 || f.vlan() > 4094)) {
                throw new ConfigException(at + ".vlan: " + f.vlan() + " is outside 1-4094");
            }
            if (f.roles().isEmpty()) {
                throw new ConfigException(at + ".roles: name at least one of " + new java.util.TreeSet<>(ROLES));
            }
            for (String r : f.roles()) {
                if (!ROLES.contains(r)) {
                    throw new ConfigException(at + ".roles: '" + r + "' is not one of " + new java.util.TreeSet<>(ROLES));
                }
                if (!r.equals("provider") && roleOwners.putIfAbsent(r, f.name()) != null) {
                    throw new ConfigException(at + ".roles: " + r + " traffic is already carried by " + roleOwners.get(r));
                }
            }
            if (f.has("provider")) {
                if (f.physicalNetwork() == null || !f.physicalNetwork().matches("[A-Za-z0-9_\\-]{1,64}")) {
                    throw new ConfigException(at + ".physicalNetwork: a provider interface names the physical network it carries");
                }
                if (!physnets.add(f.physicalNetwork())) {
                    throw new ConfigException(at + ".physicalNetwork: " + f.physicalNetwork() + " is mapped to two interfaces");
                }
            } else if (f.physicalNetwork() != null) {
                throw new ConfigException(at + ".physicalNetwork: only a provider interface carries a physical network");
            }
            Ipv4.Cidr cidr = null;
            if (f.address() != null) {
                int slash = f.address().indexOf('/');
                try {
                    if (slash < 0) {
                        throw new IllegalArgumentException("it needs a prefix length, as 10.0.0.11/24");
                    }
                    long ip = Ipv4.parse(f.address().substring(0, slash));
                    cidr = Ipv4.Cidr.parse(Ipv4.format(ip) + f.address().substring(slash), false);
                    if (cidr.prefix() < 31 && (ip == cidr.network() || ip == cidr.broadcast())) {
                        throw new IllegalArgumentException("it is the network or broadcast address of " + cidr);
                    }
                } catch (IllegalArgumentException e) {
                    throw new ConfigException(at + ".address: " + f.address() + " is not a host address with a prefix: " + e.getMessage());
                }
                for (var other : subnets) {
                    if (other.getValue().overlaps(cidr)) {
                        throw new ConfigException(at + ".address: " + cidr + " overlaps " + other.getValue() + " of " + other.getKey());
                    }
                }
                subnets.add(Map.entry(f.name(), cidr));
            }
            if (f.gateway() != null) {
                if (cidr == null) {
                    throw new ConfigException(at + ".gateway: a gateway needs an address on the interface");
                }
                long g;
                try {
                    g = Ipv4.parse(f.gateway());
                } catch (IllegalArgumentException e) {
                    throw new ConfigException(at + ".gateway: " + f.gateway() + " is not an IPv4 address");
                }
                if (!cidr.contains(g) || (cidr.prefix() < 31 && (g == cidr.network() || g == cidr.broadcast()))) {
                    throw new ConfigException(at + ".gateway: " + f.gateway() + " is not a host address inside " + cidr);
                }
                if (g == Ipv4.parse(f.ip())) {
                    throw new ConfigException(at + ".gateway: " + f.gateway() + " is the interface's own address");
                }
            }
            if (f.has("tenant") && f.address() == null) {
                throw new ConfigException(at + ".address: the tenant interface needs an address, the Geneve tunnel endpoint");
            }
        }
        if (ovs != null) {
            if (!Set.of("system", "netdev").contains(ovs.datapath())) {
                throw new ConfigException("agent.network.ovs.datapath must be system or netdev, not " + ovs.datapath());
            }
            if (ovnSouthbound == null || !ovnSouthbound.matches("((tcp|ssl):[^:,]+:\\d{1,5}(,(tcp|ssl):[^:,]+:\\d{1,5})*|unix:/.+)")) {
                throw new ConfigException("agent.network.ovnSouthbound must be tcp:HOST:PORT (comma-separated for a cluster) or "
                        + "unix:/PATH, not " + ovnSouthbound);
            }
            if (!ovs.bridgePrefix().matches("[A-Za-z0-9_\\-]{1,8}")) {
                throw new ConfigException("agent.network.ovs.bridgePrefix must be 1 to 8 letters, digits, '-' or '_'");
            }
            if (ovs.encapIp() != null) {
                try {
                    Ipv4.parse(ovs.encapIp());
                } catch (IllegalArgumentException e) {
                    throw new ConfigException("agent.network.ovs.encapIp: " + ovs.encapIp() + " is not an IPv4 address");
                }
            }
            if (tenant() == null && ovs.encapIp() == null) {
                throw new ConfigException("agent.network.interfaces: with ovs, one interface must carry the tenant role (the Geneve endpoint)");
            }
            if (tenant() != null && tenant().vlan() != null) {
                throw new ConfigException("agent.network.interfaces: the tenant interface " + tenant().name()
                        + " must be untagged (this release does not make VLAN devices)");
            }
        }
        return this;
    }
}
