package io.behaviorcep.ops;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The deliver job's FlinkDeployment (k8s/deliver-deployment.yaml) against the operator's CRD schema,
 * as ManifestTest holds the main job's; its Flink configuration keys against Flink's own options.
 * (DeliverManifestTest checks it against the deliver code.)
 */
class DeliverDeploymentSchemaTest {
    @Test
    void deliverDeploymentIsValidAgainstTheOperatorsCrdSchemaAndFlinksOptions() throws Exception {
        JsonNode crd = K8sManifests.YAML.readTree(ManifestTest.class.getResourceAsStream("flinkdeployments.flink.apache.org-v1.yml"));
        K8sManifests.Resource deliver = K8sManifests.one("FlinkDeployment", "behavior-cep-deliver");
        assertThat(new CrdSchema(crd).validate(deliver.doc())).as("problems of " + deliver).isEmpty();
        // the same Flink version and image as the main job's deployment
        JsonNode main = K8sManifests.one("FlinkDeployment", "behavior-cep").doc().path("spec");
        assertThat(deliver.doc().at("/spec/flinkVersion")).isEqualTo(main.path("flinkVersion"));
        assertThat(deliver.doc().at("/spec/image")).isEqualTo(main.path("image"));
        // every key is one the main deployment uses too (ManifestTest checks those against Flink's options), with the same meaning
        deliver.doc().at("/spec/flinkConfiguration").fieldNames().forEachRemaining(key ->
                assertThat(main.path("flinkConfiguration").has(key)).as("Flink option " + key + " as in flink-deployment.yaml").isTrue());
    }
}
