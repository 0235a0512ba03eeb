package io.halcyon.model.network;

import java.util.regex.Pattern;

/** IPv4 addresses and CIDRs as numbers, for IPAM and validation. */
public final class Ipv4 {
    private static final Pattern DOTTED = Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");

    private Ipv4() {
    }

    public static boolean isAddress(String s) {
        return s != null && DOTTED.matcher(s).matches();
    }

    /** The address as an unsigned 32-bit number; IllegalArgumentException when it is not a dotted quad. */
    public static long parse(String s) {
        if (!isAddress(s)) {
            throw new IllegalArgumentException("'" + s + "' is not a valid IPv4 address");
        }
        long v = 0;
        for (String part : s.split("\\.")) {
            v = (v << 8) | Integer.parseInt(part);
        }
        return v;
    }

    public static String format(long v) {
        return ((v >> 24) & 255) + "." + ((v >> 16) & 255) + "." + ((v >> 8) & 255) + "." + (v & 255);
    }

    /** A parsed CIDR: its network address and prefix length. */
    public record Cidr(long network, int prefix) {
        public Cidr {
            if (prefix < 0 || prefix > 32) {
                throw new IllegalArgumentException("prefix length " + prefix + " is out of range");
            }
        }

        /**
         * Parses "A.B.C.D/N". With {@code strict}, host bits must be zero (Neutron's rule for
         * subnets); otherwise they are masked off.
         */
        public static Cidr parse(String s, boolean strict) {
            if (s == null) {
                throw new IllegalArgumentException("the CIDR is missing");
            }
            int slash = s.indexOf('/');
            if (slash < 0) {
                throw new IllegalArgumentException("'" + s + "' is not a CIDR (A.B.C.D/N)");
            }
            long addr = Ipv4.parse(s.substring(0, slash));
            int prefix;
            try {
                prefix = Integer.parseInt(s.substring(slash + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + s + "' has no valid prefix length");
            }
            if (prefix < 0 || prefix > 32) {
                throw new IllegalArgumentException("'" + s + "' has a prefix length out of 0-32");
            }
            long mask = mask(prefix);
            if (strict && (addr & ~mask & 0xFFFFFFFFL) != 0) {
                throw new IllegalArgumentException("'" + s + "' isn't a recognized IP subnet cidr, '" + format(addr & mask) + "/" + prefix
                        + "' is recommended");
            }
            return new Cidr(addr & mask, prefix);
        }

        static long mask(int prefix) {
            return prefix == 0 ? 0 : (0xFFFFFFFFL << (32 - prefix)) & 0xFFFFFFFFL;
        }

        public long size() {
            return 1L << (32 - prefix);
        }

        public long broadcast() {
            return network + size() - 1;
        }

        /** The first address a host may use (the network address is not one, except in /31 and /32). */
        public long firstHost() {
            return prefix >= 31 ? network : network + 1;
        }

        public long lastHost() {
            return prefix >= 31 ? broadcast() : broadcast() - 1;
        }

        public boolean contains(long ip) {
            return ip >= network && ip <= broadcast();
        }

        public boolean overlaps(Cidr o) {
            return network <= o.broadcast() && o.network <= broadcast();
        }

        public String netmask() {
            return format(mask(prefix));
        }

        @Override
        public String toString() {
            return format(network) + "/" + prefix;
        }
    }
}
