package io.halcyon.api.image;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.auth.Policy;
import io.halcyon.api.auth.PolicyTable;
import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiJson;
import io.halcyon.api.http.ApiRequest;
import io.halcyon.api.http.Body;
import io.halcyon.api.http.FaultStyle;
import io.halcyon.api.http.Reply;
import io.halcyon.api.http.Router;
import io.halcyon.model.Ids;
import io.halcyon.model.image.Image;
import io.halcyon.model.image.ImageStatus;
import io.halcyon.runtime.ConflictException;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Repository;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * Glance v2 at {@code /image}: image records, data upload and download, JSON-patch updates.
 * Uploads are synchronous: when PUT .../file returns, the image is active (or the upload failed
 * and the image is queued again).
 */
public final class ImageApi {
    private static final Logger log = LoggerFactory.getLogger(ImageApi.class);
    public static final Set<String> DISK_FORMATS = Set.of("raw", "qcow2", "iso");
    private static final Set<String> KNOWN_DISK_FORMATS = Set.of("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2",
            "vdi", "iso", "ploop");
    private static final Set<String> CONTAINER_FORMATS = Set.of("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed");
    private static final Set<String> VISIBILITIES = Set.of("public", "private", "shared", "community");
    private static final Set<String> CORE = Set.of("id", "name", "status", "visibility", "protected", "os_hidden", "checksum",
            "os_hash_algo", "os_hash_value", "min_ram", "min_disk", "owner", "size", "virtual_size", "container_format",
            "disk_format", "created_at", "updated_at", "tags", "self", "file", "schema", "locations", "direct_url");
    private static final int MAX_PROPERTIES = 128;

    private final Resources res;
    private final ImageFiles files;
    private final long maxImageBytes;
    private final Repository<Image> images;

    public ImageApi(Resources res, ImageFiles files, long maxImageBytes) {
        this.res = requireNonNull(res, "res is null");
        this.files = requireNonNull(files, "files is null");
        this.maxImageBytes = maxImageBytes;
        this.images = res.repo(Kinds.IMAGES);
    }

    public void register(Router router) {
        var g = router.group("/image", FaultStyle.KEYSTONE, PolicyTable.load("image", PolicyTable.Style.GLANCE));
        g.open("GET", "", r -> Reply.json(300, versions(r)));
        g.open("GET", "/versions", r -> Reply.ok(versions(r)));
        g.get("/v2/images", "get_images", this::list);
        g.post("/v2/images", "add_image", this::create);
        g.get("/v2/images/{id}", "get_image", r -> Reply.ok(view(visible(r, r.param("id")))));
        g.patch("/v2/images/{id}", "modify_image", this::update);
        g.delete("/v2/images/{id}", "delete_image", this::delete);
        g.upload("PUT", "/v2/images/{id}/file", "upload_image", this::upload);
        g.get("/v2/images/{id}/file", "download_image", this::download);
        g.get("/v2/schemas/image", "get_schema", r -> Reply.ok(Map.of("name", "image", "properties", Map.of(), "additionalProperties", Map.of("type", "string"))));
        g.get("/v2/schemas/images", "get_schema", r -> Reply.ok(Map.of("name", "images", "properties", Map.of())));
    }

    private static Map<String, Object> versions(ApiRequest r) {
        var v = new LinkedHashMap<String, Object>();
        v.put("id", "v2.9");
        v.put("status", "CURRENT");
        v.put("links", List.of(Map.of("rel", "self", "href", r.baseUrl() + "/image/v2/")));
        return Map.of("versions", List.of(v));
    }

    public static Map<String, Object> view(Image i) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", i.id());
        m.put("name", i.name());
        m.put("status", i.status().wire());
        m.put("visibility", i.visibility());
        m.put("protected", i.isProtected());
        m.put("os_hidden", i.hidden());
        m.put("checksum", i.checksum());
        m.put("os_hash_algo", i.hashAlgo());
        m.put("os_hash_value", i.hashValue());
        m.put("min_ram", i.minRam());
        m.put("min_disk", i.minDisk());
        m.put("owner", i.owner());
        m.put("size", i.size());
        m.put("virtual_size", i.virtualSize());
        m.put("container_format", i.containerFormat());
        m.put("disk_format", i.diskFormat());
        m.put("created_at", ApiJson.seconds(i.createdAt()));
        m.put("updated_at", ApiJson.seconds(i.updatedAt()));
        m.put("tags", i.tags());
        m.put("self", "/v2/images/" + i.id());
        m.put("file", "/v2/images/" + i.id() + "/file");
        m.put("schema", "/v2/schemas/image");
        i.properties().forEach(m::putIfAbsent);
        return m;
    }

    private Image visible(ApiRequest r, String id) {
        res.sync();
        AuthContext ctx = r.auth();
        Policy.requireReader(ctx, "get_image");
        return res.images().get(id).map(Versioned::value)
                .filter(i -> i.visibleTo(ctx.projectId(), ctx.isAdmin()))
                .orElseThrow(() -> ApiException.notFound("No image found with ID " + id));
    }

    private Versioned<Image> owned(ApiRequest r, String id, String action) {
        res.sync();
        AuthContext ctx = r.auth();
        Policy.requireMember(ctx, action);
        var v = res.images().get(id).filter(x -> x.value().visibleTo(ctx.projectId(), ctx.isAdmin()))
                .orElseThrow(() -> ApiException.notFound("No image found with ID " + id));
        if (!ctx.isAdmin() && !v.value().owner().equals(ctx.projectId())) {
            throw ApiException.forbidden("You are not permitted to " + action.replace('_', ' ') + " this image.");
        }
        return v;
    }

    private Reply list(ApiRequest r) {
        res.sync();
        AuthContext ctx = r.auth();
        Policy.requireReader(ctx, "get_images");
        String name = r.query("name");
        String status = r.query("status");
        String visibility = r.query("visibility");
        String owner = r.query("owner");
        String hidden = r.query("os_hidden");
        int limit = parseLimit(r.query("limit"));
        String marker = r.query("marker");
        var all = new ArrayList<Image>();
        for (var v : res.images().list()) {
            Image i = v.value();
            if (!i.visibleTo(ctx.projectId(), ctx.isAdmin())) {
                continue;
            }
            if (name != null && !name.equals(i.name())) {
                continue;
            }
            if (status != null && !status.equalsIgnoreCase(i.status().wire())) {
                continue;
            }
            if (visibility != null && !"all".equals(visibility) && !visibility.equals(i.visibility())) {
                continue;
            }
            if (owner != null && !owner.equals(i.owner())) {
                continue;
            }
            boolean wantHidden = "true".equalsIgnoreCase(hidden);
            if (i.hidden() != wantHidden && hidden != null || (hidden == null && i.hidden())) {
                continue;
            }
            all.add(i);
        }
        all.sort(Comparator.comparing(Image::createdAt).reversed().thenComparing(Image::id));
        int start = 0;
        if (marker != null) {
            start = -1;
            for (int k = 0; k < all.size(); k++) {
                if (all.get(k).id().equals(marker)) {
                    start = k + 1;
                    break;
                }
            }
            if (start < 0) {
                throw ApiException.badRequest("Invalid marker. Image " + marker + " could not be found.");
            }
        }
        int end = Math.min(all.size(), start + limit);
        var out = new ArrayList<Map<String, Object>>();
        for (Image i : all.subList(start, end)) {
            out.add(view(i));
        }
        var body = new LinkedHashMap<String, Object>();
        body.put("images", out);
        body.put("first", "/v2/images");
        body.put("schema", "/v2/schemas/images");
        if (end < all.size() && !out.isEmpty()) {
            body.put("next", "/v2/images?marker=" + all.get(end - 1).id() + "&limit=" + limit);
        }
        return Reply.ok(body);
    }

    static int parseLimit(String s) {
        if (s == null) {
            return 1000;
        }
        try {
            int n = Integer.parseInt(s);
            if (n < 0) {
                throw ApiException.badRequest("limit must be a non-negative integer.");
            }
            return Math.min(n, 1000);
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("limit param must be an integer");
        }
    }

    private Reply create(ApiRequest r) {
        AuthContext ctx = r.auth();
        Policy.requireMember(ctx, "add_image");
        JsonNode b = r.json();
        String id = Body.optionalString(b, "id", 1, 36);
        if (id != null && !Ids.isUuid(id)) {
            throw ApiException.badRequest("Invalid id: must be a UUID.");
        }
        String name = Body.optionalString(b, "name", 0, 255);
        String diskFormat = Body.optionalString(b, "disk_format", 0, 255);
        String containerFormat = Body.optionalString(b, "container_format", 0, 255);
        checkFormats(diskFormat, containerFormat);
        String visibility = Body.optionalString(b, "visibility", 1, 20);
        if (visibility == null) {
            visibility = "shared";
        }
        checkVisibility(ctx, visibility);
        Integer minDisk = Body.optionalInt(b, "min_disk", 0, Integer.MAX_VALUE, false);
        Integer minRam = Body.optionalInt(b, "min_ram", 0, Integer.MAX_VALUE, false);
        Boolean prot = Body.optionalBool(b, "protected");
        Boolean hidden = Body.optionalBool(b, "os_hidden");
        List<String> tags = tags(b.get("tags"));
        for (String ro : List.of("status", "owner", "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value",
                "created_at", "updated_at", "self", "file", "schema", "locations", "direct_url")) {
            if (b.has(ro)) {
                throw ApiException.forbidden("Attribute '" + ro + "' is read-only.");
            }
        }
        var props = new HashMap<String, String>();
        for (Iterator<Map.Entry<String, JsonNode>> it = b.fields(); it.hasNext(); ) {
            var e = it.next();
            if (CORE.contains(e.getKey()) || Set.of("protected", "os_hidden", "min_disk", "min_ram", "tags").contains(e.getKey())) {
                continue;
            }
            props.put(e.getKey(), propertyValue(e.getKey(), e.getValue()));
        }
        if (props.size() > MAX_PROPERTIES) {
            throw ApiException.tooLarge("Maximum number of image properties (" + MAX_PROPERTIES + ") exceeded.");
        }
        Instant now = res.clock().now();
        var image = new Image(id == null ? Ids.newId() : id, name, ctx.projectId(), visibility, ImageStatus.QUEUED, diskFormat,
                containerFormat, null, null, null, null, null, minDisk == null ? 0 : minDisk, minRam == null ? 0 : minRam,
                prot != null && prot, hidden != null && hidden, tags, props, now, now);
        try {
            res.awaitRevision(images.create(image));
        } catch (ConflictException e) {
            throw ApiException.conflict("Image with identifier " + image.id() + " already exists!");
        }
        log.info("event=image_created image_id={} project_id={} request_id={}", image.id(), ctx.projectId(), r.requestId());
        return Reply.json(201, view(image)).header("Location", r.baseUrl() + "/image/v2/images/" + image.id());
    }

    private static String propertyValue(String key, JsonNode v) {
        if (key.length() > 255) {
            throw ApiException.badRequest("Property name is too long: " + key);
        }
        if (v == null || v.isNull()) {
            return "";
        }
        if (!v.isValueNode()) {
            throw ApiException.badRequest("Property " + key + " must be a string.");
        }
        String s = v.asText();
        if (s.length() > 65535) {
            throw ApiException.badRequest("Property " + key + " is too long.");
        }
        return s;
    }

    private static List<String> tags(JsonNode t) {
        if (t == null || t.isNull()) {
            return List.of();
        }
        if (!t.isArray()) {
            throw ApiException.badRequest("Invalid tags: expected a list of strings.");
        }
        var out = new ArrayList<String>();
        for (JsonNode e : t) {
            if (!e.isTextual() || e.asText().length() > 255) {
                throw ApiException.badRequest("Invalid tag: " + e);
            }
            if (!out.contains(e.asText())) {
                out.add(e.asText());
            }
        }
        return out;
    }

    private static void checkFormats(String disk, String container) {
        if (disk != null && !disk.isEmpty()) {
            if (!KNOWN_DISK_FORMATS.contains(disk)) {
                throw ApiException.badRequest("Invalid value '" + disk + "' for parameter 'disk_format'. Valid values: "
                        + String.join(", ", KNOWN_DISK_FORMATS.stream().sorted().toList()) + ".");
            }
            if (!DISK_FORMATS.contains(disk)) {
                throw ApiException.badRequest("disk_format " + disk + " is not supported by this cloud; use one of "
                        + String.join(", ", DISK_FORMATS.stream().sorted().toList()) + ".");
            }
        }
        if (container != null && !container.isEmpty() && !CONTAINER_FORMATS.contains(container)) {
            throw ApiException.badRequest("Invalid value '" + container + "' for parameter 'container_format'. Valid values: "
                    + String.join(", ", CONTAINER_FORMATS.stream().sorted().toList()) + ".");
        }
    }

    private static void checkVisibility(AuthContext ctx, String visibility) {
        if (!VISIBILITIES.contains(visibility)) {
            throw ApiException.badRequest("Invalid visibility value: " + visibility);
        }
        if ("public".equals(visibility) && !ctx.isAdmin()) {
            throw ApiException.forbidden("You are not authorized to complete publicize_image action.");
        }
    }

    private Reply update(ApiRequest r) {
        String id = r.param("id");
        Versioned<Image> cur = owned(r, id, "modify_image");
        JsonNode ops = r.jsonValue();
        if (!ops.isArray()) {
            throw ApiException.badRequest("Malformed JSON patch: expected a list of operations.");
        }
        Image i = cur.value();
        String name = i.name();
        String visibility = i.visibility();
        String disk = i.diskFormat();
        String container = i.containerFormat();
        int minDisk = i.minDisk();
        int minRam = i.minRam();
        boolean prot = i.isProtected();
        boolean hidden = i.hidden();
        var tags = new ArrayList<>(i.tags());
        var props = new HashMap<>(i.properties());
        for (JsonNode op : ops) {
            String kind = op.path("op").asText();
            String path = op.path("path").asText();
            if (!path.startsWith("/") || path.length() < 2) {
                throw ApiException.badRequest("Invalid JSON pointer for this resource: '" + path + "'");
            }
            String attr = path.substring(1).replace("~1", "/").replace("~0", "~");
            JsonNode value = op.get("value");
            if (!Set.of("add", "replace", "remove").contains(kind)) {
                throw ApiException.badRequest("Operation '" + kind + "' is not supported.");
            }
            boolean remove = kind.equals("remove");
            switch (attr) {
                case "name" -> name = remove ? null : text(value, attr, 255);
                case "visibility" -> {
                    visibility = text(value, attr);
                    checkVisibility(r.auth(), visibility);
                }
                case "disk_format", "container_format" -> {
                    if (i.status() != ImageStatus.QUEUED) {
                        throw ApiException.forbidden("Attribute " + attr + " can be only replaced for a queued image.");
                    }
                    if (attr.equals("disk_format")) {
                        disk = text(value, attr);
                        checkFormats(disk, null);
                    } else {
                        container = text(value, attr);
                        checkFormats(null, container);
                    }
                }
                case "min_disk" -> minDisk = remove ? 0 : nonNegative(value, attr);
                case "min_ram" -> minRam = remove ? 0 : nonNegative(value, attr);
                case "protected" -> prot = !remove && bool(value, attr);
                case "os_hidden" -> hidden = !remove && bool(value, attr);
                case "tags" -> {
                    tags.clear();
                    if (!remove) {
                        tags.addAll(tags(value));
                    }
                }
                default -> {
                    if (CORE.contains(attr) || attr.startsWith("tags/")) {
                        throw ApiException.forbidden("Attribute '" + attr + "' is read-only.");
                    }
                    if (remove) {
                        if (props.remove(attr) == null) {
                            throw ApiException.conflict("Property " + attr + " does not exist.");
                        }
                    } else {
                        if (kind.equals("replace") && !props.containsKey(attr)) {
                            throw ApiException.conflict("Property " + attr + " does not exist.");
                        }
                        props.put(attr, propertyValue(attr, value));
                    }
                }
            }
        }
        if (props.size() > MAX_PROPERTIES) {
            throw ApiException.tooLarge("Maximum number of image properties (" + MAX_PROPERTIES + ") exceeded.");
        }
        Image next = i.withAttributes(name, visibility, disk, container, minDisk, minRam, prot, hidden, tags, props, res.clock().now());
        try {
            res.awaitRevision(images.update(next, cur.revision()));
        } catch (ConflictException e) {
            throw ApiException.conflict("Image " + id + " was changed concurrently; retry.");
        }
        return Reply.ok(view(next));
    }

    private static String text(JsonNode v, String attr) {
        return text(v, attr, 255);
    }

    /** A string attribute under the length limit create applies to it. */
    private static String text(JsonNode v, String attr, int maxLength) {
        if (v == null || !v.isTextual()) {
            throw ApiException.badRequest("Invalid value for " + attr + ": expected a string.");
        }
        if (v.asText().length() > maxLength) {
            throw ApiException.badRequest("Invalid value for " + attr + ": at most " + maxLength + " characters.");
        }
        return v.asText();
    }

    private static int nonNegative(JsonNode v, String attr) {
        if (v == null || !v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < 0) {
            throw ApiException.badRequest("Invalid value for " + attr + ": expected a non-negative integer.");
        }
        return v.asInt();
    }

    private static boolean bool(JsonNode v, String attr) {
        if (v == null || !v.isBoolean()) {
            throw ApiException.badRequest("Invalid value for " + attr + ": expected a boolean.");
        }
        return v.asBoolean();
    }

    private Reply delete(ApiRequest r) throws IOException {
        String id = r.param("id");
        Versioned<Image> cur = owned(r, id, "delete_image");
        if (cur.value().isProtected()) {
            throw ApiException.forbidden("Image " + id + " is protected and cannot be deleted.");
        }
        if (cur.value().status() == ImageStatus.SAVING) {
            throw ApiException.conflict("Image " + id + " is being uploaded; try again when the upload ends.");
        }
        try {
            res.awaitRevision(images.delete(id, cur.revision()));
        } catch (ConflictException e) {
            throw ApiException.conflict("Image " + id + " was changed concurrently; retry.");
        }
        files.delete(id);
        log.info("event=image_deleted image_id={} request_id={}", id, r.requestId());
        return Reply.empty(204);
    }

    private Reply upload(ApiRequest r) throws IOException {
        String id = r.param("id");
        Versioned<Image> cur = owned(r, id, "upload_image");
        Image i = cur.value();
        if (i.status() != ImageStatus.QUEUED) {
            throw ApiException.conflict("Image status transition from " + i.status().wire() + " to saving is not allowed");
        }
        if (i.diskFormat() == null || i.diskFormat().isEmpty() || i.containerFormat() == null || i.containerFormat().isEmpty()) {
            throw ApiException.badRequest("Properties disk_format, container_format must be set prior to saving data.");
        }
        long declared = r.contentLength();
        if (declared > maxImageBytes) {
            throw ApiException.tooLarge("Image exceeds the size limit of " + maxImageBytes + " bytes.");
        }
        long savingRev;
        try {
            savingRev = images.update(i.withStatus(ImageStatus.SAVING, res.clock().now()), cur.revision());
        } catch (ConflictException e) {
            throw ApiException.conflict("Image " + id + " is already being uploaded.");
        }
        ImageFiles.Stored stored = null;
        try (InputStream in = r.bodyStream()) {
            stored = files.receive(id, in, declared, maxImageBytes);
            long virtual = ImageInspector.inspect(stored.tempFile(), i.diskFormat(), stored.size());
            files.commit(stored, id);
            Image active = i.withData(ImageStatus.ACTIVE, i.diskFormat(), stored.size(), virtual, stored.md5(), stored.sha512(),
                    res.clock().now());
            res.awaitRevision(images.update(active, savingRev));
            log.info("event=image_uploaded image_id={} bytes={} request_id={}", id, stored.size(), r.requestId());
            return Reply.empty(204);
        } catch (ImageFiles.UploadException e) {
            requeue(id, savingRev, i);
            throw new ApiException(e.status(), e.getMessage());
        } catch (ImageInspector.InvalidImageException e) {
            files.discard(stored);
            requeue(id, savingRev, i);
            throw ApiException.badRequest(e.getMessage());
        } catch (IOException | RuntimeException e) {
            if (stored != null) {
                files.discard(stored);
            }
            requeue(id, savingRev, i);
            if (e instanceof ApiException ae) {
                throw ae;
            }
            if (e instanceof io.halcyon.http.MinRateInputStream.TooSlowException) {
                throw new ApiException(408, "Upload failed: " + e.getMessage() + "; the image is queued again.");
            }
            throw ApiException.badRequest("Upload failed: " + e.getMessage());
        }
    }

    private void requeue(String id, long savingRev, Image before) {
        try {
            res.awaitRevision(images.update(before.withStatus(ImageStatus.QUEUED, res.clock().now()), savingRev));
        } catch (RuntimeException e) {
            log.warn("event=image_requeue_failed image_id={} error=\"{}\"", id, e.getMessage());
        }
    }

    private Reply download(ApiRequest r) {
        Image i = visible(r, r.param("id"));
        if (i.status() != ImageStatus.ACTIVE || !files.exists(i.id())) {
            return Reply.empty(204);
        }
        var path = files.path(i.id());
        return Reply.stream(200, "application/octet-stream", i.size() == null ? -1 : i.size(), out -> Files.copy(path, out))
                .header("Content-MD5", i.checksum() == null ? "" : i.checksum());
    }
}
