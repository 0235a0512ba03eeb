package io.halcyon.agent.net;

import io.halcyon.config.ConfigException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HostNetworkConfigTest {
    static final Set<String> NICS = Set.of("eth0", "eth1", "eth2");

    static HostNetworkConfig.Iface iface(String name, String roles, Integer vlan, String address, String gateway, String physnet) {
        return new HostNetworkConfig.Iface(name, roles == null ? null : List.of(roles.split(" ")), vlan, address, gateway, physnet);
    }

    static HostNetworkConfig good(HostNetworkConfig.Iface... extra) {
        var list = new java.util.ArrayList<>(List.of(
                iface("eth0", "management", null, "10.0.0.11/24", "10.0.0.1", null),
                iface("eth1", "tenant", null, "10.1.0.11/24", null, null),
                iface("eth2", "provider", null, null, null, "provider")));
        list.addAll(List.of(extra));
        return new HostNetworkConfig(list, new HostNetworkConfig.Ovs("netdev", null), "tcp:10.0.0.1:6642");
    }

    @Test
    void aSoundConfigurationPasses() {
        var c = good(iface("eth0", "storage migration", 20, "10.2.0.11/24", null, null)).validate(NICS::contains);
        assertThat(c.tenant().ip()).isEqualTo("10.1.0.11");
        assertThat(c.providers()).containsKey("provider");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "gateway outside the subnet | eth1 | storage | 30 | 10.3.0.11/24 | 10.4.0.1 | - | interfaces[3] (eth1).gateway: 10.4.0.1 is not a host address inside 10.3.0.0/24",
            "gateway is the broadcast | eth1 | storage | 30 | 10.3.0.11/24 | 10.3.0.255 | - | .gateway: 10.3.0.255 is not a host address",
            "overlapping subnets | eth1 | storage | 30 | 10.1.0.200/16 | - | - | .address: 10.1.0.0/16 overlaps 10.1.0.0/24 of eth1",
            "VLAN out of range | eth1 | storage | 4095 | 10.3.0.11/24 | - | - | .vlan: 4095 is outside 1-4094",
            "a NIC the host lacks | eth9 | storage | - | 10.3.0.11/24 | - | - | .name: this host has no NIC named eth9",
            "an unknown role | eth1 | backup | 30 | 10.3.0.11/24 | - | - | .roles: 'backup' is not one of",
            "a role twice | eth1 | management | 30 | 10.3.0.11/24 | - | - | .roles: management traffic is already carried by eth0",
            "address without prefix | eth1 | storage | 30 | 10.3.0.11 | - | - | .address: 10.3.0.11 is not a host address with a prefix",
            "address that is the network | eth1 | storage | 30 | 10.3.0.0/24 | - | - | is the network or broadcast address",
            "provider without physnet | eth1 | provider | 30 | - | - | - | .physicalNetwork: a provider interface names",
            "physnet mapped twice | eth1 | provider | 30 | - | - | provider | .physicalNetwork: provider is mapped to two interfaces",
    })
    void aWrongConfigurationIsRefusedNamingTheField(String name, String nic, String roles, String vlan, String address, String gateway,
                                                    String physnet, String message) {
        var c = good(iface(nic, roles, "-".equals(vlan) ? null : Integer.valueOf(vlan), "-".equals(address) ? null : address,
                "-".equals(gateway) ? null : gateway, "-".equals(physnet) ? null : physnet));
        assertThatThrownBy(() -> c.validate(NICS::contains)).isInstanceOf(ConfigException.class).hasMessageContaining(message.trim())
                .hasMessageStartingWith("agent.network.interfaces");
    }

    @Test
    void ovsNeedsASouthboundAndATenantInterface() {
        var noSb = new HostNetworkConfig(good().interfaces(), new HostNetworkConfig.Ovs("netdev", null), null);
        assertThatThrownBy(() -> noSb.validate(NICS::contains)).hasMessageContaining("agent.network.ovnSouthbound");
        var noTenant = new HostNetworkConfig(List.of(iface("eth0", "management", null, "10.0.0.11/24", null, null)),
                new HostNetworkConfig.Ovs("netdev", null), "tcp:10.0.0.1:6642");
        assertThatThrownBy(() -> noTenant.validate(NICS::contains)).hasMessageContaining("tenant role");
        var badPath = new HostNetworkConfig(good().interfaces(), new HostNetworkConfig.Ovs("dpdk", null), "tcp:10.0.0.1:6642");
        assertThatThrownBy(() -> badPath.validate(NICS::contains)).hasMessageContaining("agent.network.ovs.datapath");
    }
}
