package io.halcyon.it;

import io.halcyon.testkit.Command;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The tiny guest's own checks (guest/test-boot.sh) under QEMU TCG: the readiness line, user data
 * from a config drive, DHCP on every NIC with the MTU the server offers (1442 here), HTTP, and
 * the ACPI power button with and without -no-shutdown, in a network namespace it makes itself.
 */
class GuestImageIT {
    @Test
    void theTinyGuestPassesItsBootChecks() {
        var r = Command.run(List.of(Paths.root().resolve("guest/test-boot.sh").toString()), Map.of(), Duration.ofMinutes(5));
        assertThat(r.exit()).as(r.stdout() + r.stderr()).isZero();
        assertThat(r.stdout()).contains(" 0 failed").contains("PASS (c) eth0 MTU 1442 from DHCP option 26");
    }
}
