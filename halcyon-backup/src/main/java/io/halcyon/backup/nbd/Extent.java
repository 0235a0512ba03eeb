package io.halcyon.backup.nbd;

/**
 * A run of bytes with one status: for {@code base:allocation}, {@link #HOLE} (not allocated) and
 * {@link #ZERO} (reads as zeros); for {@code qemu:dirty-bitmap:*}, {@link #DIRTY}.
 */
public record Extent(long offset, long length, int flags) {
    public static final int HOLE = 1;
    public static final int ZERO = 2;
    public static final int DIRTY = 1;

    public long end() {
        return offset + length;
    }

    public boolean has(int flag) {
        return (flags & flag) != 0;
    }
}
