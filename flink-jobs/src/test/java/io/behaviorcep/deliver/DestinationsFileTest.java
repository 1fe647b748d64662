package io.behaviorcep.deliver;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class DestinationsFileTest {

    private static DestinationsFile.Result parse(String yaml) {
        return DestinationsFile.parse("destinations.yaml", yaml.getBytes(StandardCharsets.UTF_8));
    }

    private static List<String> problems(String yaml) {
        return parse(yaml).problems().stream().map(FileProblem::toString).toList();
    }

    @Test
    void readsEveryFieldAndDefaults() {
        DestinationsFile.Result r = parse("""
                destinations:
                  - name: crm
                    url: https://crm.example.com/hooks/behavior
                    alert_types: [cart_abandoned, checkout_abandoned]
                    severities: [high]
                    headers:
                      Authorization: "Bearer ${CRM_TOKEN}"
                      X-Tenant: acme
                    signing_secret_env: CRM_SIGNING_SECRET
                    timeout: 5s
                    rate_limit: 50
                    max_in_flight: 20
                    retry:
                      max_attempts: 4
                      max_total_time: 2m
                      initial_backoff: 250ms
                      max_backoff: 10s
                  - name: slack-ops
                    url: http://hooks.internal:8080/alerts
                    signing_secret_env: OPS_SECRET
                """);
        assertThat(r.problems()).isEmpty();
        Destination crm = r.destinations().get(0);
        assertThat(crm.name()).isEqualTo("crm");
        assertThat(crm.operatorUid()).isEqualTo("deliver-crm");
        assertThat(crm.alertTypes()).containsExactly("cart_abandoned", "checkout_abandoned");
        assertThat(crm.headers()).containsEntry("Authorization", "Bearer ${CRM_TOKEN}").containsEntry("X-Tenant", "acme");
        assertThat(crm.timeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(crm.ratePerSecond()).isEqualTo(50);
        assertThat(crm.capacity()).isEqualTo(20);
        assertThat(crm.retry()).isEqualTo(new RetryPolicy(4, Duration.ofMinutes(2), Duration.ofMillis(250), Duration.ofSeconds(10)));
        Destination ops = r.destinations().get(1);
        assertThat(ops.alertTypes()).isEmpty();
        assertThat(ops.retry()).isEqualTo(RetryPolicy.DEFAULT);
        assertThat(ops.timeout()).isEqualTo(DestinationsFile.DEFAULT_TIMEOUT);
        assertThat(ops.ratePerSecond()).isZero();
    }

    @Test
    void routesByTypeAndSeverityWithEmptyMeaningAll() {
        Destination d = new Destination("d", "http://x", Set.of("cart_abandoned"), Set.of("high", "medium"), java.util.Map.of(), "S",
                Duration.ofSeconds(1), 0, 1, RetryPolicy.DEFAULT);
        assertThat(d.accepts("cart_abandoned", "high")).isTrue();
        assertThat(d.accepts("cart_abandoned", "low")).isFalse();
        assertThat(d.accepts("reactivated", "high")).isFalse();
        Destination all = new Destination("a", "http://x", Set.of(), Set.of(), java.util.Map.of(), "S", Duration.ofSeconds(1), 0, 1,
                RetryPolicy.DEFAULT);
        assertThat(all.accepts("anything", null)).isTrue();
    }

    @Test
    void reportsEveryProblemWithFileLineAndColumn() {
        assertThat(problems("""
                destinations:
                  - name: crm
                    url: ftp://crm.example.com
                    timout: 5s
                    headers:
                      Authorization: Bearer abc123
                      Idempotency-Key: mine
                      X-Token: "${BROKEN"
                    signing_secret_env: CRM-SECRET
                    rate_limit: fast
                    retry:
                      max_attempts: 0
                      initial_backoff: 2m
                      max_backoff: 1m
                  - name: Bad_Name
                    url: https://ok.example.com
                    signing_secret_env: S
                  - url: https://ok.example.com
                    signing_secret_env: S
                  - name: crm
                    url: https://again.example.com
                    signing_secret_env: S
                """)).containsExactly(
                "destinations.yaml:4:5: unknown key 'timout' in destination, did you mean 'timeout'?",
                "destinations.yaml:3:10: url 'ftp://crm.example.com' must be an absolute http:// or https:// URL",
                "destinations.yaml:6:22: header 'Authorization' holds a literal value; take it from the environment: \"Bearer ${TOKEN_ENV}\"",
                "destinations.yaml:7:7: header 'Idempotency-Key' is set by the delivery itself",
                "destinations.yaml:8:16: header 'X-Token': write an environment variable as ${NAME} (letters, digits, '_')",
                "destinations.yaml:9:25: 'CRM-SECRET' is not an environment variable name",
                "destinations.yaml:10:17: 'rate_limit' must be a number from 0 to 1000000",
                "destinations.yaml:12:21: 'max_attempts' must be a number from 1 to 1000",
                "destinations.yaml:13:24: initial_backoff (2m) is longer than max_backoff (1m)",
                "destinations.yaml:15:11: destination name 'Bad_Name' must be lower-case letters, digits and '-' (at most 63), as it names the operator deliver-Bad_Name",
                "destinations.yaml:18:5: missing key 'name'",
                "destinations.yaml:20:11: duplicate destination name 'crm' (the first is on line 2)");
    }

    @Test
    void syntaxErrorsEmptyFilesAndWrongShapesAreReportedNotThrown() {
        assertThat(problems("destinations:\n  - name: [unclosed\n")).singleElement().asString()
                .startsWith("destinations.yaml:").contains("YAML syntax");
        assertThat(problems("")).containsExactly("destinations.yaml:1:1: the file is empty; it needs 'destinations:' with at least one destination");
        assertThat(problems("- a\n")).containsExactly("destinations.yaml:1:1: expected a mapping with the key 'destinations'");
        assertThat(problems("destinations: []\n")).containsExactly("destinations.yaml:1:15: 'destinations' must be a list of at least one destination");
        assertThat(problems("destinatons:\n  - name: a\n")).contains("destinations.yaml:1:1: unknown key 'destinatons' in the file, did you mean 'destinations'?");
        assertThat(problems("""
                destinations:
                  - name: a
                    url: http://a
                    signing_secret_env: S
                    url: http://b
                """)).containsExactly("destinations.yaml:5:5: duplicate key 'url' (the first is on line 3)");
        assertThat(DestinationsFile.read(Path.of("no/such/destinations.yaml")).problems()).singleElement().asString()
                .startsWith("no/such/destinations.yaml:1:1: cannot read");
    }

    @Test
    void flinksAsyncTimeoutLiesBeyondTheRetryBudgetAndTheRateLimitQueue() {
        RetryPolicy retry = new RetryPolicy(4, Duration.ofSeconds(60), Duration.ofMillis(100), Duration.ofSeconds(5));
        Destination unlimited = new Destination("d", "http://x", Set.of(), Set.of(), java.util.Map.of(), "S", Duration.ofSeconds(5), 0, 10, retry);
        assertThat(unlimited.worstCaseDecisionTime(2)).isEqualTo(Duration.ofSeconds(70));
        // 10 in flight x 4 attempts x 2 subtasks at 4 requests/s: 20 s of queue
        Destination limited = new Destination("d", "http://x", Set.of(), Set.of(), java.util.Map.of(), "S", Duration.ofSeconds(5), 4, 10, retry);
        assertThat(limited.worstCaseDecisionTime(2)).isEqualTo(Duration.ofSeconds(90));
    }
}
