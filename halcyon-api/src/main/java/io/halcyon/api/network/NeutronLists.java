package io.halcyon.api.network;

import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiRequest;
import io.halcyon.api.http.Reply;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Neutron's list semantics: exact-match filters on any attribute, {@code fields}, and {@code limit}/{@code marker} paging. */
final class NeutronLists {
    private static final Set<String> NOT_FILTERS = Set.of("fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse");

    private NeutronLists() {
    }

    static Reply one(ApiRequest r, String key, Map<String, Object> view) {
        return Reply.ok(Map.of(key, fields(r, view)));
    }

    /** Neutron's list semantics: exact-match filters on any attribute, {@code fields}, and {@code limit}/{@code marker} paging. */
    static Reply list(ApiRequest r, String key, List<Map<String, Object>> views) {
        var out = new ArrayList<Map<String, Object>>();
        for (Map<String, Object> v : views) {
            if (matches(v, r.queryParams())) {
                out.add(v);
            }
        }
        String marker = r.query("marker");
        int start = 0;
        if (marker != null) {
            start = -1;
            for (int i = 0; i < out.size(); i++) {
                if (marker.equals(out.get(i).get("id"))) {
                    start = i + 1;
                }
            }
            if (start < 0) {
                throw ApiException.notFound("Marker " + marker + " could not be found.");
            }
        }
        Integer limit = null;
        if (r.query("limit") != null) {
            try {
                limit = Integer.parseInt(r.query("limit"));
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 0) {
                throw ApiException.badRequest("Invalid limit " + r.query("limit") + ": it must be a non-negative integer.");
            }
        }
        int end = limit == null || limit == 0 ? out.size() : Math.min(out.size(), start + limit);
        var page = new ArrayList<Map<String, Object>>();
        for (int i = start; i < end; i++) {
            page.add(fields(r, out.get(i)));
        }
        var body = new LinkedHashMap<String, Object>();
        body.put(key, page);
        if (limit != null && limit > 0 && end < out.size()) {
            body.put(key + "_links", List.of(Map.of("rel", "next", "href", r.baseUrl() + r.path() + "?limit=" + limit + "&marker="
                    + out.get(end - 1).get("id"))));
        }
        return Reply.ok(body);
    }

    static boolean matches(Map<String, Object> view, Map<String, List<String>> query) {
        for (var e : query.entrySet()) {
            String k = e.getKey();
            if (NOT_FILTERS.contains(k) || e.getValue().isEmpty()) {
                continue;
            }
            if (k.equals("fixed_ips")) {
                if (!fixedIpsMatch(view.get("fixed_ips"), e.getValue())) {
                    return false;
                }
                continue;
            }
            if (!view.containsKey(k)) {
                continue;
            }
            Object v = view.get(k);
            boolean any = false;
            for (String w : e.getValue()) {
                if (v instanceof java.util.Collection<?> c ? c.stream().anyMatch(x -> String.valueOf(x).equalsIgnoreCase(w))
                        : String.valueOf(v).equalsIgnoreCase(w)) {
                    any = true;
                    break;
                }
            }
            if (!any) {
                return false;
            }
        }
        return true;
    }

    /** {@code fixed_ips=ip_address=10.0.0.5} and {@code fixed_ips=subnet_id=...}: each given pair must be held. */
    @SuppressWarnings("unchecked")
    static boolean fixedIpsMatch(Object value, List<String> wanted) {
        if (!(value instanceof List<?> ips)) {
            return false;
        }
        for (String w : wanted) {
            int eq = w.indexOf('=');
            if (eq < 0) {
                throw ApiException.badRequest("Invalid fixed_ips filter " + w + ": use ip_address=A or subnet_id=S.");
            }
            String k = w.substring(0, eq);
            String want = w.substring(eq + 1);
            boolean held = ips.stream().anyMatch(ip -> want.equals(((Map<String, Object>) ip).get(k)));
            if (!held) {
                return false;
            }
        }
        return true;
    }

    static Map<String, Object> fields(ApiRequest r, Map<String, Object> view) {
        List<String> f = r.queryAll("fields");
        if (f == null || f.isEmpty()) {
            return view;
        }
        var m = new LinkedHashMap<String, Object>();
        for (String k : f) {
            if (view.containsKey(k)) {
                m.put(k, view.get(k));
            }
        }
        return m;
    }
}
