package io.halcyon.api.identity;

import io.halcyon.api.http.ApiJson;
import io.halcyon.model.identity.Domain;
import io.halcyon.model.identity.Project;
import io.halcyon.model.identity.Role;
import io.halcyon.model.identity.User;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Keystone's JSON shapes. */
final class IdentityViews {
    private IdentityViews() {
    }

    static Map<String, Object> links(String self) {
        var m = new LinkedHashMap<String, Object>();
        m.put("self", self);
        return m;
    }

    static Map<String, Object> listLinks(String self) {
        var m = new LinkedHashMap<String, Object>();
        m.put("self", self);
        m.put("previous", null);
        m.put("next", null);
        return m;
    }

    static Map<String, Object> project(String base, Project p) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", p.id());
        m.put("name", p.name());
        m.put("domain_id", p.domainId());
        m.put("description", p.description());
        m.put("enabled", p.enabled());
        m.put("parent_id", p.domainId());
        m.put("is_domain", false);
        m.put("tags", p.tags());
        m.put("options", Map.of());
        m.put("links", links(base + "/identity/v3/projects/" + p.id()));
        return m;
    }

    static Map<String, Object> user(String base, User u) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", u.id());
        m.put("name", u.name());
        m.put("domain_id", u.domainId());
        m.put("enabled", u.enabled());
        if (u.defaultProjectId() != null) {
            m.put("default_project_id", u.defaultProjectId());
        }
        if (!u.description().isEmpty()) {
            m.put("description", u.description());
        }
        if (u.email() != null) {
            m.put("email", u.email());
        }
        m.put("password_expires_at", null);
        m.put("options", Map.of());
        m.put("links", links(base + "/identity/v3/users/" + u.id()));
        return m;
    }

    static Map<String, Object> role(String base, Role r) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", r.id());
        m.put("name", r.name());
        m.put("domain_id", null);
        m.put("description", r.description());
        m.put("options", Map.of());
        m.put("links", links(base + "/identity/v3/roles/" + r.id()));
        return m;
    }

    static Map<String, Object> domain(String base) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", Domain.DEFAULT_ID);
        m.put("name", Domain.DEFAULT_NAME);
        m.put("description", "The default domain");
        m.put("enabled", true);
        m.put("tags", List.of());
        m.put("options", Map.of());
        m.put("links", links(base + "/identity/v3/domains/" + Domain.DEFAULT_ID));
        return m;
    }

    static Map<String, Object> domainRef() {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", Domain.DEFAULT_ID);
        m.put("name", Domain.DEFAULT_NAME);
        return m;
    }

    static Map<String, Object> version(String base) {
        var v = new LinkedHashMap<String, Object>();
        v.put("id", "v3.14");
        v.put("status", "stable");
        v.put("updated", "2020-04-07T00:00:00Z");
        v.put("links", List.of(Map.of("rel", "self", "href", base + "/identity/v3/")));
        v.put("media-types", List.of(Map.of("base", "application/json", "type", "application/vnd.openstack.identity-v3+json")));
        return v;
    }

    static String time(java.time.Instant t) {
        return ApiJson.microsZ(t);
    }
}
