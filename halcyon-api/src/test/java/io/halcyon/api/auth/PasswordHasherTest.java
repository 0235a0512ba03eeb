package io.halcyon.api.auth;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class PasswordHasherTest {
    @Test
    void argon2idHashesVerifyOnlyTheirPassword() {
        var h = PasswordHasher.standard();
        String hash = h.hash("correct horse");
        assertThat(hash).startsWith("$argon2id$v=19$m=19456,t=2,p=1$");
        assertThat(h.verify("correct horse", hash)).isTrue();
        assertThat(h.verify("correct horse!", hash)).isFalse();
        assertThat(h.hash("correct horse")).isNotEqualTo(hash);
        assertThat(h.verify("x", null)).isFalse();
        assertThat(h.verify("x", "$argon2i$v=19$m=8,t=1,p=1$AAAA$AAAA")).isFalse();
    }

    @Test
    void theCostIsReadFromTheStoredHash() {
        String cheap = new PasswordHasher(1024, 1, 1).hash("pw");
        assertThat(PasswordHasher.standard().verify("pw", cheap)).isTrue();
    }
}
