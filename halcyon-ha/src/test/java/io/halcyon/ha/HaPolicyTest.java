package io.halcyon.ha;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class HaPolicyTest {
    private static final HaPolicy OFF = new HaPolicy(false, 0);

    @Test
    void metadataWinsOverTheFlavorWhichWinsOverTheDefault() {
        assertThat(HaPolicy.of(Map.of(), Map.of(), OFF)).isEqualTo(OFF);
        assertThat(HaPolicy.of(Map.of(), Map.of(), new HaPolicy(true, 3))).isEqualTo(new HaPolicy(true, 3));
        assertThat(HaPolicy.of(Map.of(), Map.of("ha:enabled", "true", "ha:priority", "20"), OFF)).isEqualTo(new HaPolicy(true, 20));
        assertThat(HaPolicy.of(Map.of("HA_Enabled", "False"), Map.of("ha:enabled", "true"), OFF).enabled()).isFalse();
        assertThat(HaPolicy.of(Map.of("HA_Enabled", "True", "ha:priority", "5"), Map.of("ha:priority", "20"), OFF))
                .isEqualTo(new HaPolicy(true, 5));
    }

    @Test
    void acceptsMasakarisSpellings() {
        for (String v : new String[] {"True", "true", "TRUE", "yes", "1", "on"}) {
            assertThat(HaPolicy.of(Map.of("HA_Enabled", v), Map.of(), OFF).enabled()).as(v).isTrue();
        }
    }

    @Test
    void namesBadValues() {
        assertThat(HaPolicy.problem(Map.of("HA_Enabled", "maybe"))).contains("HA_Enabled").contains("maybe");
        assertThat(HaPolicy.problem(Map.of("ha:enabled", "sure"))).contains("ha:enabled");
        assertThat(HaPolicy.problem(Map.of("ha:priority", "high"))).contains("ha:priority");
        assertThat(HaPolicy.problem(Map.of("ha:priority", "5000"))).contains("-1000 to 1000");
        assertThat(HaPolicy.problem(Map.of("HA_Enabled", "True", "ha:priority", "-3", "other", "x"))).isNull();
    }
}
