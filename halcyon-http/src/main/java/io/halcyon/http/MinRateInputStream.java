package io.halcyon.http;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * A streamed request body (an upload) that must keep arriving: once the grace period is over, a
 * read that finds the average rate since the start below the minimum fails, so a trickling sender
 * releases the thread that reads it. (Silence alone is the connection's idle timeout.)
 */
public final class MinRateInputStream extends FilterInputStream {
    /** The body arrived too slowly; the request is answered 408 and the connection closed. */
    public static final class TooSlowException extends IOException {
        public TooSlowException(String message) {
            super(message);
        }
    }

    private final long minBytesPerSecond;
    private final long graceNanos;
    private final long start = System.nanoTime();
    private long total;

    public MinRateInputStream(InputStream in, long minBytesPerSecond, java.time.Duration grace) {
        super(in);
        this.minBytesPerSecond = minBytesPerSecond;
        this.graceNanos = grace.toNanos();
    }

    private void check() throws TooSlowException {
        long elapsed = System.nanoTime() - start;
        if (elapsed > graceNanos && total * 1_000_000_000L / elapsed < minBytesPerSecond) {
            throw new TooSlowException("the request body arrived at " + (total * 1_000_000_000L / elapsed) + " bytes/s, below the "
                    + minBytesPerSecond + " bytes/s this cloud requires");
        }
    }

    @Override
    public int read() throws IOException {
        int b = super.read();
        if (b >= 0) {
            total++;
        }
        check();
        return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        if (n > 0) {
            total += n;
        }
        if (n >= 0) {
            check();
        }
        return n;
    }
}
