package io.halcyon.api.compute;

import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiRequest;
import io.halcyon.api.http.Paging;

import java.util.List;
import java.util.function.Function;

/** Nova's limit/marker paging over an already sorted list. */
final class ComputePaging {
    static final int MAX_LIMIT = 1000;

    private ComputePaging() {
    }

    static int limit(ApiRequest r) {
        String s = r.query("limit");
        if (s == null) {
            return MAX_LIMIT;
        }
        try {
            int n = Integer.parseInt(s);
            if (n < 0) {
                throw ApiException.badRequest("limit param must be positive");
            }
            return Math.min(n, MAX_LIMIT);
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("limit param must be an integer");
        }
    }

    static <T> List<T> page(ApiRequest r, List<T> sorted, Function<T, String> id, String kind) {
        int limit = limit(r);
        String marker = r.query("marker");
        int start = Paging.start(sorted, id, marker, "marker [" + marker + "] not found");
        return sorted.subList(start, Math.min(sorted.size(), start + limit));
    }
}
