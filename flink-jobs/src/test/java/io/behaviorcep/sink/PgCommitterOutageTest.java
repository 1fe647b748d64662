package io.behaviorcep.sink;

import io.behaviorcep.config.JdbcSettings;

import org.apache.flink.api.connector.sink2.Committer.CommitRequest;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * While PostgreSQL is unreachable the committer retries the batch itself, with back-off, instead of
 * handing it back to Flink (whose retryLater() retries at once, 10 times, then fails the task); after
 * its outage budget it fails. {@code ExactlyOnceIT} stops and restarts a real PostgreSQL mid-run.
 */
class PgCommitterOutageTest {

    @Test
    void retriesWithBackoffThenFailsWithoutHandingTheBatchBackToFlink() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort(); // closed again: connections to it are refused
        }
        JdbcSettings jdbc = new JdbcSettings("jdbc:postgresql://localhost:" + port + "/postgres", "postgres", null, "");
        PostgresSink.PgCommitter committer = new PostgresSink.PgCommitter(jdbc, Duration.ofMillis(400));
        Request request = new Request(new PostgresSink.Batch(PostgresSink.Kind.ALERTS, List.of("{}")));

        assertThatThrownBy(() -> committer.commit(List.of(request)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("failed for");
        try {
            committer.commit(List.of(request));
        } catch (IOException e) {
            Matcher m = Pattern.compile("\\((\\d+) attempts\\)").matcher(e.getMessage());
            assertThat(m.find()).as(e.getMessage()).isTrue();
            assertThat(Integer.parseInt(m.group(1))).as("attempts before giving up").isGreaterThan(1);
        }
        assertThat(request.signals).as("nothing handed back to Flink").isEmpty();
    }

    /** A commit request that records what the committer signalled. */
    static final class Request implements CommitRequest<PostgresSink.Batch> {
        final PostgresSink.Batch batch;
        final List<String> signals = new ArrayList<>();

        Request(PostgresSink.Batch batch) {
            this.batch = batch;
        }

        @Override
        public PostgresSink.Batch getCommittable() {
            return batch;
        }

        @Override
        public int getNumberOfRetries() {
            return 0;
        }

        @Override
        public void signalFailedWithKnownReason(Throwable t) {
            signals.add("failedKnown");
        }

        @Override
        public void signalFailedWithUnknownReason(Throwable t) {
            signals.add("failedUnknown");
        }

        @Override
        public void retryLater() {
            signals.add("retryLater");
        }

        @Override
        public void updateAndRetryLater(PostgresSink.Batch committable) {
            signals.add("updateAndRetryLater");
        }

        @Override
        public void signalAlreadyCommitted() {
            signals.add("alreadyCommitted");
        }
    }
}
