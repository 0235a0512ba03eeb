package io.halcyon.agent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Facts about this host the scheduler needs: CPUs, RAM, disk under the data directory, CPU model, QEMU version. */
public record HostInfo(int cpus, int ramMb, int diskGb, String arch, String cpuModel, String qemuVersion) {

    public static HostInfo probe(Path dataDir, String qemuBinary) throws IOException {
        int cpus = Runtime.getRuntime().availableProcessors();
        int ramMb = 0;
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemTotal:")) {
                ramMb = (int) (Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024);
            }
        }
        Files.createDirectories(dataDir);
        int diskGb = (int) (Files.getFileStore(dataDir).getTotalSpace() >> 30);
        String model = "unknown";
        for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
            if (line.startsWith("model name")) {
                model = line.substring(line.indexOf(':') + 1).trim();
                break;
            }
        }
        String arch = System.getProperty("os.arch");
        arch = "amd64".equals(arch) ? "x86_64" : arch;
        return new HostInfo(cpus, ramMb, diskGb, arch, model, qemuVersion(qemuBinary));
    }

    static String qemuVersion(String qemuBinary) {
        try {
            Process p = new ProcessBuilder(qemuBinary, "--version").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            p.waitFor(10, TimeUnit.SECONDS);
            var m = java.util.regex.Pattern.compile("version (\\d+\\.\\d+(\\.\\d+)?)").matcher(out);
            return m.find() ? m.group(1) : "unknown";
        } catch (IOException e) {
            return "unknown";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }
}
