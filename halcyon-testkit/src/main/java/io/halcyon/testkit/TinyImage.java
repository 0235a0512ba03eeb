package io.halcyon.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** The project's tiny guest image, built once per work directory with guest/build.sh. */
public final class TinyImage {
    private TinyImage() {
    }

    public static synchronized Path ensure(Path repoRoot, Path workDir) {
        Path image = workDir.resolve("tiny.qcow2");
        if (Files.exists(image)) {
            return image;
        }
        try {
            Files.createDirectories(workDir);
            Process p = new ProcessBuilder(repoRoot.resolve("guest/build.sh").toString(), image.toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("guest/build.sh failed: " + out);
            }
            return image;
        } catch (IOException e) {
            throw new IllegalStateException("cannot build the tiny guest image", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
