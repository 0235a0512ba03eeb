package io.halcyon.api.http;

import java.util.List;
import java.util.function.Function;

/** OpenStack's marker paging: where a page starts in an already sorted list. */
public final class Paging {
    private Paging() {
    }

    /** The index after {@code marker}, 0 without one; a marker that names nothing is a 400 with {@code notFound}. */
    public static <T> int start(List<T> sorted, Function<T, String> id, String marker, String notFound) {
        if (marker == null) {
            return 0;
        }
        for (int i = 0; i < sorted.size(); i++) {
            if (id.apply(sorted.get(i)).equals(marker)) {
                return i + 1;
            }
        }
        throw ApiException.badRequest(notFound);
    }
}
