package io.behaviorcep.it;

import io.behaviorcep.testing.IntegrationServices;

import org.apache.flink.core.execution.JobClient;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The production shape, live (see {@link ProductionShape}): a 40 s quiet start, a TaskManager failure
 * while traffic goes on and the catch-up, and a 40 s quiet spell right after another restore.
 */
class ProductionShapeIT extends ProductionShape {
    @Test
    void quietStartFailureWithCatchUpAndQuietSpellAfterARestoreLoseNothing() throws Exception {
        String topic = newTopic("shape-live");
        IntegrationServices.Run run = services.newRun("shape_live", topic, settings());
        JobClient job = submit(run);
        try {
            awaitRunning(job);
            quietFor(QUIET); // (1) a quiet start: every partition is idle, the suppression list runs
            int part1 = RECORDS * 2 / 5, part2 = RECORDS * 7 / 10;
            produce(topic, 0, part1);
            awaitCaughtUp(run, topic, job);
            awaitAlertsInPostgres(run, job, 1);

            // (2) the TaskManager dies; traffic goes on while it is down; a new one catches up
            killTaskManager();
            produce(topic, part1, part2);
            startTaskManager();
            awaitCaughtUp(run, topic, job);

            // (3) another failure, and a quiet spell right after the restore
            killTaskManager();
            startTaskManager();
            awaitRunning(job);
            quietFor(QUIET);
            produce(topic, part2, RECORDS);
            awaitCaughtUp(run, topic, job);

            assertThat(IntegrationServices.maxAttempt(services.graph(job.getJobID()))).as("the job restarted twice").isGreaterThanOrEqualTo(2);
            compareWithReplay(run, job);
        } finally {
            job.cancel().get(60, TimeUnit.SECONDS);
        }
    }

}
