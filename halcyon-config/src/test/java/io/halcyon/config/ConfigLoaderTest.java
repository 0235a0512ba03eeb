package io.halcyon.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigLoaderTest {
    record Inner(@JsonProperty("timeout") Duration timeout, @JsonProperty("port") Integer port) {
    }

    record Outer(@JsonProperty("inner") Inner inner, @JsonProperty("name") String name) {
    }

    @ParameterizedTest
    @CsvSource({"500ms,500", "10s,10000", "2m,120000", "1h,3600000", "1d,86400000", "PT3S,3000", "1.5s,1500"})
    void durationsAsPeopleWriteThem(String text, long millis) {
        assertThat(Durations.parse(text)).isEqualTo(Duration.ofMillis(millis));
    }

    @Test
    void aMisspeltKeyFailsWithItsPathAndTheKnownKeys() {
        assertThatThrownBy(() -> ConfigLoader.parse("x.yaml", "inner:\n  prot: 1\n", Outer.class))
                .isInstanceOf(ConfigException.class)
                .hasMessage("x.yaml: unknown key 'inner.prot' (known keys here: port, timeout)");
    }

    @Test
    void aBadValueNamesItsKey() {
        assertThatThrownBy(() -> ConfigLoader.parse("x.yaml", "inner:\n  timeout: soon\n", Outer.class))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("invalid value for 'inner.timeout'")
                .hasMessageContaining("'soon' is not a duration");
        assertThatThrownBy(() -> ConfigLoader.parse("x.yaml", "inner:\n  port: many\n", Outer.class))
                .hasMessageContaining("invalid value for 'inner.port'");
        assertThatThrownBy(() -> ConfigLoader.parse("x.yaml", "inner: [\n", Outer.class))
                .hasMessageStartingWith("x.yaml: ");
    }

    @Test
    void validYamlMaps() {
        Outer o = ConfigLoader.parse("x.yaml", "name: a\ninner: {timeout: 10s, port: 80}\n", Outer.class);
        assertThat(o.inner().timeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(o.inner().port()).isEqualTo(80);
    }
}
