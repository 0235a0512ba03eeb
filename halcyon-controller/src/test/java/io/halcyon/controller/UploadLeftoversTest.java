package io.halcyon.controller;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** An upload cut off by a crash leaves a temporary file; the next start removes it at once, since no upload owns it. */
class UploadLeftoversTest {
    @TempDir
    Path dir;

    @Test
    void aRestartRemovesTemporaryFilesNoUploadOwns() throws Exception {
        TestController.start(dir, "").close();
        Path left = dir.resolve("images").resolve(".upload-11111111-2222-3333-4444-555555555555-" + java.util.UUID.randomUUID());
        Files.write(left, new byte[4096]);
        try (var controller = TestController.start(dir, "")) {
            assertThat(left).doesNotExist();
        }
    }
}
