package io.halcyon.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.auth.Policy;
import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiRequest;
import io.halcyon.api.http.Body;
import io.halcyon.api.http.Reply;
import io.halcyon.api.http.Router;
import io.halcyon.model.compute.InstanceAction;
import io.halcyon.model.compute.Nic;
import io.halcyon.model.compute.Server;
import io.halcyon.model.compute.VmState;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Repository;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.store.Txn;
import io.halcyon.store.TxnResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * Nova's os-interface: attaching records the NIC in the server's spec and creates (or binds) its
 * port in the same transaction; the agent hot-plugs it. Detaching removes both the same way.
 */
public final class InterfaceApi {
    private static final Logger log = LoggerFactory.getLogger(InterfaceApi.class);
    private static final Set<VmState> ATTACHABLE = Set.of(VmState.ACTIVE, VmState.STOPPED);

    private final Resources res;
    private final ServerService servers;
    private final Repository<Server> serverRepo;
    private final Repository<InstanceAction> actions;

    public InterfaceApi(Resources res, ServerService servers) {
        this.res = requireNonNull(res, "res is null");
        this.servers = requireNonNull(servers, "servers is null");
        this.serverRepo = res.repo(Kinds.SERVERS);
        this.actions = res.repo(Kinds.INSTANCE_ACTIONS);
    }

    public void register(Router.Group g) {
        g.get("/servers/{id}/os-interface", "os_compute_api:os-attach-interfaces:list", r -> {
            Server s = servers.visible(r.auth(), r.param("id")).value();
            var out = new ArrayList<Map<String, Object>>();
            s.spec().nics().forEach(n -> out.add(servers.serverPorts().interfaceView(n.portId())));
            return Reply.ok(Map.of("interfaceAttachments", out));
        });
        g.get("/servers/{id}/os-interface/{port}", "os_compute_api:os-attach-interfaces:show", r -> {
            Server s = servers.visible(r.auth(), r.param("id")).value();
            nic(s, r.param("port"));
            return Reply.ok(Map.of("interfaceAttachment", servers.serverPorts().interfaceView(r.param("port"))));
        });
        g.post("/servers/{id}/os-interface", "os_compute_api:os-attach-interfaces:create", this::attach);
        g.delete("/servers/{id}/os-interface/{port}", "os_compute_api:os-attach-interfaces:delete", this::detach);
    }

    private static Nic nic(Server s, String portId) {
        return s.spec().nics().stream().filter(n -> n.portId().equals(portId)).findFirst()
                .orElseThrow(() -> ApiException.notFound("Port " + portId + " is not attached to server " + s.id() + "."));
    }

    private static void checkState(Server s, String action) {
        if (s.spec().deleted() || !ATTACHABLE.contains(s.status().vmState()) || s.status().taskState() != null) {
            throw ApiException.conflict("Cannot '" + action + "' instance " + s.id() + " while it is in vm_state "
                    + s.status().vmState().wire() + (s.status().taskState() == null ? "" : " and task_state "
                    + s.status().taskState().wire()));
        }
    }

    private Reply attach(ApiRequest r) {
        AuthContext ctx = r.auth();
        Policy.requireMember(ctx, "os_compute_api:os-attach-interfaces:create");
        JsonNode a = Body.object(r.json(), "interfaceAttachment");
        Body.onlyKnown(a, Set.of("port_id", "net_id", "fixed_ips", "tag"));
        String portId = Body.optionalString(a, "port_id", 1, 255);
        String netId = Body.optionalString(a, "net_id", 1, 255);
        String fixedIp = null;
        JsonNode fixed = a.get("fixed_ips");
        if (fixed != null && !fixed.isNull()) {
            if (!fixed.isArray() || fixed.size() != 1 || !fixed.get(0).isObject() || !fixed.get(0).hasNonNull("ip_address")
                    || !fixed.get(0).get("ip_address").isTextual()) {
                throw ApiException.badRequest("Invalid input for field/attribute fixed_ips: give one {\"ip_address\": ...}.");
            }
            fixedIp = fixed.get(0).get("ip_address").asText();
        }
        if (portId != null && (netId != null || fixedIp != null)) {
            throw ApiException.badRequest("Must not input both network_id and port_id");
        }
        if (portId == null && netId == null) {
            throw ApiException.badRequest("Must input network_id or port_id");
        }
        var request = new ServerPorts.NicRequest(netId, portId, fixedIp);
        for (int attempt = 0; attempt < 20; attempt++) {
            Versioned<Server> sv = servers.visible(ctx, r.param("id"));
            Server s = sv.value();
            checkState(s, "attach_interface");
            ServerPorts ports = servers.serverPorts();
            ports.validate(ctx, List.of(request), 1);
            if (portId == null) {
                ports.network().ports().checkPortQuota(s.projectId(), 1);
            }
            Instant now = res.clock().now();
            var txn = Txn.builder().when(serverRepo.unchanged(s.id(), sv.revision()));
            List<Nic> added = ports.prepare(ctx, s.id(), List.of(request), null, new HashSet<>(), txn, now);
            var nics = new ArrayList<>(s.spec().nics());
            nics.addAll(added);
            var action = new InstanceAction(r.requestId(), s.id(), "attach_interface", ctx.projectId(), ctx.userId(), now, now, null,
                    List.of());
            txn.onSuccess(serverRepo.put(s.withSpec(s.spec().withNics(nics))), actions.put(action));
            TxnResult t = res.store().txn(txn.build());
            if (t.succeeded()) {
                res.awaitRevision(t.revision());
                String id = added.get(0).portId();
                log.info("event=interface_attach_requested server_id={} port_id={} request_id={}", s.id(), id, r.requestId());
                return Reply.ok(Map.of("interfaceAttachment", ports.interfaceView(id)));
            }
        }
        throw ApiException.conflict("Server or port changed concurrently; retry.");
    }

    private Reply detach(ApiRequest r) {
        AuthContext ctx = r.auth();
        Policy.requireMember(ctx, "os_compute_api:os-attach-interfaces:delete");
        for (int attempt = 0; attempt < 20; attempt++) {
            Versioned<Server> sv = servers.visible(ctx, r.param("id"));
            Server s = sv.value();
            Nic nic = nic(s, r.param("port"));
            checkState(s, "detach_interface");
            Instant now = res.clock().now();
            var txn = Txn.builder().when(serverRepo.unchanged(s.id(), sv.revision()));
            servers.serverPorts().release(s, nic, txn, now);
            var nics = new ArrayList<>(s.spec().nics());
            nics.remove(nic);
            var action = new InstanceAction(r.requestId(), s.id(), "detach_interface", ctx.projectId(), ctx.userId(), now, now, null,
                    List.of());
            txn.onSuccess(serverRepo.put(s.withSpec(s.spec().withNics(nics))), actions.put(action));
            TxnResult t = res.store().txn(txn.build());
            if (t.succeeded()) {
                res.awaitRevision(t.revision());
                log.info("event=interface_detach_requested server_id={} port_id={} request_id={}", s.id(), nic.portId(), r.requestId());
                return Reply.empty(202);
            }
        }
        throw ApiException.conflict("Server or port changed concurrently; retry.");
    }
}
