package io.halcyon.it;

import io.halcyon.testkit.GuestProcesses;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** kill -9 of the agent while three guests run: the restarted agent re-adopts the same QEMU processes. */
class AgentRestartIT {
    @Test
    void aRestartedAgentReadoptsRunningGuestsWithoutRestartingThem() throws Exception {
        try (var cloud = TestCloud.start("")) {
            var agent = cloud.agentProcess("h1", "");
            ApiClient api = cloud.admin();
            await().atMost(Duration.ofSeconds(60)).until(() -> cloud.controller.resources().hostUp("h1"));
            String image = api.imageId("tiny");
            var ids = new ArrayList<String>();
            for (int i = 0; i < 3; i++) {
                ids.add(api.createServer("vm" + i, "1", image));
            }
            await().atMost(Duration.ofSeconds(120)).until(() -> allActive(api, ids));
            Map<String, Long> before = pids(agent, ids);
            assertThat(before.values()).allMatch(p -> p > 0);

            agent.kill9();
            assertThat(pids(agent, ids)).as("guests survive the agent's death").isEqualTo(before);

            agent.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> agent.logText().contains("adopted_guests=3"));
            // give the new agent time to converge and report: it must leave the guests alone
            await().atMost(Duration.ofSeconds(30)).until(() -> agent.logText().split("event=agent_started", -1).length == 3
                    && cloud.controller.resources().hostUp("h1"));
            await().pollDelay(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(20)).until(() -> allActive(api, ids));
            assertThat(pids(agent, ids)).as("same QEMU processes after the restart").isEqualTo(before);
            String afterRestart = agent.logText().substring(agent.logText().lastIndexOf("event=agent_started"));
            assertThat(afterRestart).doesNotContain("event=guest_started").doesNotContain("event=guest_stopped");
            for (String id : ids) {
                assertThat(api.server(id).path("OS-EXT-STS:power_state").asInt()).isEqualTo(1);
            }

            for (String id : ids) {
                assertThat(api.delete("/compute/v2.1/servers/" + id).status()).isEqualTo(204);
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> GuestProcesses.all(agent.dir).isEmpty());
        }
    }

    static boolean allActive(ApiClient api, List<String> ids) throws Exception {
        for (String id : ids) {
            var s = api.server(id);
            if (s == null || !"ACTIVE".equals(s.path("status").asText()) || !s.path("OS-EXT-STS:task_state").isNull()) {
                return false;
            }
        }
        return true;
    }

    static Map<String, Long> pids(TestCloud.AgentProcess agent, List<String> ids) {
        var m = new LinkedHashMap<String, Long>();
        for (String id : ids) {
            m.put(id, GuestProcesses.pid(agent.dir, id));
        }
        return m;
    }
}
