package io.halcyon.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.api.auth.Policy;
import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiRequest;
import io.halcyon.api.http.Body;
import io.halcyon.api.http.Reply;
import io.halcyon.api.http.Router;
import io.halcyon.model.Ids;
import io.halcyon.model.compute.Flavor;
import io.halcyon.model.identity.NameClaim;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Repository;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.store.Txn;
import io.halcyon.store.TxnResult;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/** Nova flavors and their extra specs. Flavor names are unique; servers keep a snapshot of theirs. */
public final class FlavorApi {
    private static final Pattern FLAVOR_ID = Pattern.compile("[\\w.\\- ]{1,255}", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern SPEC_KEY = Pattern.compile("[\\w.\\-:]{1,255}", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Set<String> CREATE_KEYS = Set.of("name", "ram", "vcpus", "disk", "id", "swap", "OS-FLV-EXT-DATA:ephemeral",
            "rxtx_factor", "os-flavor-access:is_public", "description");

    private final Resources res;
    private final Repository<Flavor> flavors;

    public FlavorApi(Resources res) {
        this.res = requireNonNull(res, "res is null");
        this.flavors = res.repo(Kinds.FLAVORS);
    }

    public void register(Router.Group g) {
        g.get("/flavors", "os_compute_api:os-flavor-manage:index", r -> list(r, false));
        g.get("/flavors/detail", "os_compute_api:os-flavor-manage:index", r -> list(r, true));
        g.post("/flavors", "os_compute_api:os-flavor-manage:create", this::create);
        g.get("/flavors/{id}", "os_compute_api:os-flavor-manage:show", r -> Reply.ok(Map.of("flavor", ComputeViews.flavor(r.baseUrl(), find(r, r.param("id"))))));
        g.delete("/flavors/{id}", "os_compute_api:os-flavor-manage:delete", this::delete);
        g.get("/flavors/{id}/os-extra_specs", "os_compute_api:os-flavor-extra-specs:index", r -> Reply.ok(Map.of("extra_specs", find(r, r.param("id")).extraSpecs())));
        g.post("/flavors/{id}/os-extra_specs", "os_compute_api:os-flavor-extra-specs:create", this::setSpecs);
        g.get("/flavors/{id}/os-extra_specs/{key}", "os_compute_api:os-flavor-extra-specs:show", r -> {
            Flavor f = find(r, r.param("id"));
            String v = f.extraSpecs().get(r.param("key"));
            if (v == null) {
                throw ApiException.notFound("Flavor " + f.id() + " has no extra specs with key " + r.param("key") + ".");
            }
            return Reply.ok(Map.of(r.param("key"), v));
        });
        g.put("/flavors/{id}/os-extra_specs/{key}", "os_compute_api:os-flavor-extra-specs:update", this::putSpec);
        g.delete("/flavors/{id}/os-extra_specs/{key}", "os_compute_api:os-flavor-extra-specs:delete", this::deleteSpec);
    }

    private Flavor find(ApiRequest r, String id) {
        res.sync();
        return res.flavors().get(id).map(Versioned::value)
                .filter(f -> f.isPublic() || r.auth().isAdmin())
                .orElseThrow(() -> ApiException.notFound("Flavor " + id + " could not be found."));
    }

    private Reply list(ApiRequest r, boolean detail) {
        res.sync();
        String isPublic = r.query("is_public");
        boolean admin = r.auth().isAdmin();
        Integer minRam = intParam(r, "minRam");
        Integer minDisk = intParam(r, "minDisk");
        var all = new ArrayList<Flavor>();
        for (var v : res.flavors().list()) {
            Flavor f = v.value();
            boolean include;
            if (isPublic == null || !admin) {
                include = f.isPublic() || (admin && isPublic != null);
            } else if (isPublic.equalsIgnoreCase("none")) {
                include = true;
            } else {
                include = f.isPublic() == Boolean.parseBoolean(isPublic.toLowerCase().replace("1", "true").replace("yes", "true"));
            }
            if (!include || (minRam != null && f.ramMb() < minRam) || (minDisk != null && f.diskGb() < minDisk)) {
                continue;
            }
            all.add(f);
        }
        all.sort(Comparator.comparing(Flavor::id));
        var out = new ArrayList<Map<String, Object>>();
        for (Flavor f : ComputePaging.page(r, all, Flavor::id, "flavor")) {
            out.add(detail ? ComputeViews.flavor(r.baseUrl(), f) : ComputeViews.flavorSummary(r.baseUrl(), f));
        }
        return Reply.ok(Map.of("flavors", out));
    }

    private static Integer intParam(ApiRequest r, String name) {
        String s = r.query(name);
        if (s == null) {
            return null;
        }
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("Invalid " + name + " filter [" + s + "]");
        }
    }

    private Reply create(ApiRequest r) {
        Policy.requireAdmin(r.auth(), "os_compute_api:os-flavor-manage:create");
        JsonNode f = Body.object(r.json(), "flavor");
        Body.onlyKnown(f, CREATE_KEYS);
        String name = Body.string(f, "name", 1, 255);
        if (!name.equals(name.strip())) {
            throw ApiException.badRequest("Invalid input for field/attribute name. Value: " + name
                    + ". '" + name + "' has leading or trailing whitespace");
        }
        int ram = Body.integer(f, "ram", 1, Integer.MAX_VALUE, true);
        int vcpus = Body.integer(f, "vcpus", 1, Integer.MAX_VALUE, true);
        int disk = Body.integer(f, "disk", 0, Integer.MAX_VALUE, true);
        Integer swap = Body.optionalInt(f, "swap", 0, Integer.MAX_VALUE, true);
        Integer eph = Body.optionalInt(f, "OS-FLV-EXT-DATA:ephemeral", 0, Integer.MAX_VALUE, true);
        Double rxtx = Body.optionalNumber(f, "rxtx_factor", 0.0001, 3.40282e38);
        Boolean isPublic = Body.optionalBool(f, "os-flavor-access:is_public");
        String description = Body.optionalString(f, "description", 0, 65535);
        String id = Body.optionalString(f, "id", 1, 255);
        if (id == null || id.equalsIgnoreCase("auto")) {
            id = Ids.newId();
        } else if (!FLAVOR_ID.matcher(id).matches() || !id.equals(id.strip())) {
            throw ApiException.badRequest("Invalid input for field/attribute id. Value: " + id
                    + ". '" + id + "' does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'");
        }
        var flavor = new Flavor(id, name, vcpus, ram, disk, eph == null ? 0 : eph, swap == null ? 0 : swap, rxtx == null ? 1.0 : rxtx,
                isPublic == null || isPublic, false, description, Map.of(), res.clock().now());
        var names = res.repo(Kinds.NAMES);
        TxnResult result = res.store().txn(Txn.builder()
                .when(flavors.absent(id), names.absent(NameClaim.id("flavors", name)))
                .onSuccess(flavors.put(flavor), names.put(new NameClaim("flavors", name, id)))
                .build());
        if (!result.succeeded()) {
            res.sync();
            if (res.flavors().get(id).isPresent()) {
                throw ApiException.conflict("Flavor with ID " + id + " already exists.");
            }
            throw ApiException.conflict("Flavor with name " + name + " already exists.");
        }
        res.awaitRevision(result.revision());
        return Reply.ok(Map.of("flavor", ComputeViews.flavor(r.baseUrl(), flavor)));
    }

    private Reply delete(ApiRequest r) {
        Policy.requireAdmin(r.auth(), "os_compute_api:os-flavor-manage:delete");
        res.sync();
        String id = r.param("id");
        var v = res.flavors().get(id).orElseThrow(() -> ApiException.notFound("Flavor " + id + " could not be found."));
        var names = res.repo(Kinds.NAMES);
        TxnResult result = res.store().txn(Txn.builder().when(flavors.unchanged(id, v.revision()))
                .onSuccess(flavors.deleteOp(id), names.deleteOp(NameClaim.id("flavors", v.value().name()))).build());
        if (!result.succeeded()) {
            throw ApiException.conflict("Flavor " + id + " changed concurrently; retry.");
        }
        res.awaitRevision(result.revision());
        return Reply.empty(202);
    }

    private Map<String, String> specs(JsonNode node, String field) {
        Map<String, String> specs = Body.stringMap(node, field, 255, 255);
        if (specs == null) {
            throw ApiException.badRequest("'" + field + "' is a required property");
        }
        for (String k : specs.keySet()) {
            if (!SPEC_KEY.matcher(k).matches()) {
                throw ApiException.badRequest("Invalid input for field/attribute extra_specs. Value: " + k
                        + ". '" + k + "' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'");
            }
        }
        String problem = io.halcyon.ha.HaPolicy.problem(specs);
        if (problem != null) {
            throw ApiException.badRequest("Invalid input for field/attribute extra_specs. " + problem);
        }
        String wd = specs.get(WATCHDOG_ACTION);
        if (wd != null && !WATCHDOG_ACTIONS.contains(wd)) {
            throw ApiException.badRequest("Invalid input for field/attribute extra_specs. Value '" + wd + "' for " + WATCHDOG_ACTION
                    + " is not one of " + String.join(", ", WATCHDOG_ACTIONS) + ".");
        }
        String ports = specs.get(SERIAL_PORT_COUNT);
        if (ports != null && !ports.matches("[1-4]")) {
            throw ApiException.badRequest("Invalid input for field/attribute extra_specs. Value '" + ports + "' for " + SERIAL_PORT_COUNT
                    + " is not a whole number from 1 to 4.");
        }
        return specs;
    }

    /** Nova's flavor key for the number of the guest's serial ports; each beyond the console is logged to its own file. */
    public static final String SERIAL_PORT_COUNT = "hw:serial_port_count";

    /** Nova's flavor key for the guest's watchdog device and what QEMU does when it fires. */
    public static final String WATCHDOG_ACTION = "hw:watchdog_action";
    static final java.util.List<String> WATCHDOG_ACTIONS = java.util.List.of("disabled", "reset", "poweroff", "pause", "none");

    private Reply setSpecs(ApiRequest r) {
        Policy.requireAdmin(r.auth(), "os_compute_api:os-flavor-extra-specs:create");
        Map<String, String> specs = specs(r.json(), "extra_specs");
        Flavor updated = modify(r.param("id"), f -> {
            var m = new TreeMap<>(f.extraSpecs());
            m.putAll(specs);
            return f.withExtraSpecs(m);
        });
        return Reply.ok(Map.of("extra_specs", updated.extraSpecs()));
    }

    private Reply putSpec(ApiRequest r) {
        Policy.requireAdmin(r.auth(), "os_compute_api:os-flavor-extra-specs:update");
        JsonNode body = r.json();
        String key = r.param("key");
        if (body.size() != 1 || !body.has(key)) {
            throw ApiException.badRequest("Request body and URI mismatch");
        }
        Map<String, String> one = specs(com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode().set("v", body), "v");
        modify(r.param("id"), f -> {
            var m = new TreeMap<>(f.extraSpecs());
            m.putAll(one);
            return f.withExtraSpecs(m);
        });
        return Reply.ok(one);
    }

    private Reply deleteSpec(ApiRequest r) {
        Policy.requireAdmin(r.auth(), "os_compute_api:os-flavor-extra-specs:delete");
        String key = r.param("key");
        Flavor cur = find(r, r.param("id"));
        if (!cur.extraSpecs().containsKey(key)) {
            throw ApiException.notFound("Flavor " + cur.id() + " has no extra specs with key " + key + ".");
        }
        modify(cur.id(), f -> {
            var m = new TreeMap<>(f.extraSpecs());
            m.remove(key);
            return f.withExtraSpecs(m);
        });
        return Reply.empty(202);
    }

    private Flavor modify(String id, java.util.function.UnaryOperator<Flavor> fn) {
        var out = flavors.modify(id, fn).orElseThrow(() -> ApiException.notFound("Flavor " + id + " could not be found."));
        res.awaitRevision(out.revision());
        return out.value();
    }
}
