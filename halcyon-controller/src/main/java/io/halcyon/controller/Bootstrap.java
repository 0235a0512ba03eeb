package io.halcyon.controller;

import io.halcyon.api.image.ImageImporter;
import io.halcyon.model.compute.Flavor;
import io.halcyon.model.identity.NameClaim;
import io.halcyon.model.volume.VolumeType;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Resources;
import io.halcyon.store.Txn;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.util.Map;

import static java.util.Objects.requireNonNull;

/**
 * Seeds the flavors and images the configuration lists, once: an existing flavor or image of
 * the same name is left alone, so an operator's later edits survive restarts.
 */
final class Bootstrap {
    private static final Logger log = LoggerFactory.getLogger(Bootstrap.class);

    private final Resources res;
    private final ImageImporter images;

    Bootstrap(Resources res, ImageImporter images) {
        this.res = requireNonNull(res, "res is null");
        this.images = requireNonNull(images, "images is null");
    }

    void seedVolumeTypes(ControllerConfig.Storage storage) {
        var types = res.repo(Kinds.VOLUME_TYPES);
        var names = res.repo(Kinds.NAMES);
        for (ControllerConfig.VolumeTypeSeed t : storage.volumeTypes()) {
            res.sync();
            if (res.names().get(NameClaim.id("volume-types", t.name())).isPresent()) {
                continue;
            }
            var type = new VolumeType(io.halcyon.model.Ids.newId(), t.name(), t.description(), t.backend(), true, Map.of());
            var r = res.store().txn(Txn.builder().when(types.absent(type.id()), names.absent(NameClaim.id("volume-types", t.name())))
                    .onSuccess(types.put(type), names.put(new NameClaim("volume-types", t.name(), type.id()))).build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=volume_type_seeded name={} backend={}", t.name(), t.backend());
            }
        }
    }

    void seed(ControllerConfig.Bootstrap seeds, String adminProjectId) throws Exception {
        var flavors = res.repo(Kinds.FLAVORS);
        var names = res.repo(Kinds.NAMES);
        for (ControllerConfig.FlavorSeed f : seeds.flavors()) {
            res.sync();
            if (res.names().get(NameClaim.id("flavors", f.name())).isPresent()) {
                continue;
            }
            String id = f.id() == null ? io.halcyon.model.Ids.newId() : f.id();
            var flavor = new Flavor(id, f.name(), f.vcpus(), f.ramMb(), f.diskGb(), 0, 0, 1.0, true, false, null, Map.of(), res.clock().now());
            var r = res.store().txn(Txn.builder().when(flavors.absent(id), names.absent(NameClaim.id("flavors", f.name())))
                    .onSuccess(flavors.put(flavor), names.put(new NameClaim("flavors", f.name(), id))).build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=flavor_seeded name={} id={}", f.name(), id);
            }
        }
        for (ControllerConfig.ImageSeed i : seeds.images()) {
            if (!Files.isRegularFile(i.file())) {
                log.warn("event=image_seed_missing name={} file={}", i.name(), i.file());
                continue;
            }
            var image = images.ensurePublic(i.name(), i.file(), i.diskFormat() == null ? "qcow2" : i.diskFormat(), adminProjectId);
            log.info("event=image_seeded name={} id={}", i.name(), image.id());
        }
    }
}
