package io.halcyon.controller.ha;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class CephFenceTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode json(String s) throws Exception {
        return JSON.readTree(s);
    }

    /** Ceph traffic on a storage network: the lock holder's address is fenced, not the agent's API address alone. */
    @Test
    void theLockHolderAsCephSeesItIsFencedExactlyAndByItsWholeIp() throws Exception {
        var locks = json("[{\"id\":\"auto 140230\",\"locker\":\"client.4181\",\"address\":\"192.168.50.14:0/2718281\"}]");
        var status = json("{\"watchers\":[{\"address\":\"192.168.50.14:0/2718281\",\"client\":4181,\"cookie\":140230},"
                + "{\"address\":\"192.168.50.14:0/31415\",\"client\":4190,\"cookie\":1},"
                + "{\"address\":\"192.168.50.2:0/999\",\"client\":4200,\"cookie\":2}]}");
        assertThat(CephFence.entries(List.of(locks), List.of(status), "10.0.0.14:0/0")).containsExactly(
                "192.168.50.14:0/2718281", "192.168.50.14:0/31415", "192.168.50.14:0/0", "10.0.0.14:0/0");
    }

    /** On loopback (a lab, an all-in-one) a whole-IP entry would fence every client of the machine: exact ones only. */
    @Test
    void loopbackClientsAreFencedOnlyExactly() throws Exception {
        var locks = json("[{\"id\":\"auto 1\",\"locker\":\"client.7\",\"address\":\"v1:127.0.0.1:0/42\"}]");
        var status = json("{\"watchers\":[{\"address\":\"127.0.0.1:0/42\"},{\"address\":\"127.0.0.1:0/43\"}]}");
        assertThat(CephFence.entries(List.of(locks), List.of(status), null)).containsExactly("127.0.0.1:0/42", "127.0.0.1:0/43");
    }

    @Test
    void anImageNobodyLocksNeedsNoEntryAndUnreadableAddressesAreSkipped() throws Exception {
        assertThat(CephFence.entries(List.of(json("[]")), List.of(json("{\"watchers\":[]}")), null)).isEmpty();
        assertThat(CephFence.entries(List.of(json("[{\"address\":\"garbage\"}]")), List.of(), null)).isEmpty();
        assertThat(CephFence.clientAddress("v2:[fd00::14]:0/77")).isEqualTo("[fd00::14]:0/77");
        assertThat(CephFence.ipOf("[fd00::14]:0/77")).isEqualTo("fd00::14");
        assertThat(CephFence.wholeIp("fd00::14")).isEqualTo("[fd00::14]:0/0");
    }
}
