package io.behaviorcep.ops;

import com.fasterxml.jackson.databind.JsonNode;
import io.behaviorcep.cli.Main;
import io.behaviorcep.serve.ServeConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** k8s/serve-deployment.yaml held to the code: its arguments are settings serve accepts, the probe and Service reach its port. */
class ServeManifestTest {

    @Test
    void theServeDeploymentRunsServeWithSettingsItAcceptsAndIsProbedOnHealthz(@TempDir Path dir) throws Exception {
        JsonNode deployment = K8sManifests.one("Deployment", "behavior-cep-serve").doc();
        JsonNode c = deployment.at("/spec/template/spec/containers/0");
        List<String> args = new ArrayList<>();
        c.path("args").forEach(a -> args.add(a.asText()));
        assertThat(args.get(0)).isEqualTo("serve");
        assertThat(new CommandLine(new Main()).parseArgs(args.toArray(new String[0])).subcommand().commandSpec().name()).isEqualTo("serve");

        // --config names the job's ConfigMap, mounted where the arguments say
        int configAt = args.indexOf("--config");
        assertThat(c.at("/volumeMounts/0/mountPath").asText()).isEqualTo(args.get(configAt + 1));
        assertThat(deployment.at("/spec/template/spec/volumes/0/configMap/name").asText()).isEqualTo("behavior-cep-config");
        Path jobProperties = dir.resolve("job.properties");
        Files.writeString(jobProperties, K8sManifests.one("ConfigMap", "behavior-cep-config").doc().at("/data/job.properties").asText());
        List<String> settings = new ArrayList<>(args.subList(1, args.size()));
        settings.set(configAt, jobProperties.toString());
        ServeConfig config = ServeConfig.fromArgs(settings); // refuses unknown keys and bad values

        assertThat(config.jdbc().user()).isEqualTo("behavior_cep_reader");
        JsonNode passwordEnv = c.path("env").findParents("name").stream()
                .filter(e -> e.path("name").asText().equals(config.jdbc().passwordEnv())).findFirst().orElseThrow();
        assertThat(passwordEnv.at("/valueFrom/secretKeyRef/name").asText()).isNotEmpty();

        int port = c.at("/ports/0/containerPort").asInt();
        assertThat(port).isEqualTo(config.port());
        assertThat(c.at("/readinessProbe/httpGet/path").asText()).isEqualTo("/healthz");
        assertThat(c.at("/readinessProbe/httpGet/port").asText()).isEqualTo(c.at("/ports/0/name").asText());

        JsonNode service = K8sManifests.one("Service", "behavior-cep-serve").doc();
        assertThat(service.at("/spec/selector")).isEqualTo(deployment.at("/spec/selector/matchLabels"));
        assertThat(service.at("/spec/ports/0/targetPort").asText()).isEqualTo(c.at("/ports/0/name").asText());
    }
}
