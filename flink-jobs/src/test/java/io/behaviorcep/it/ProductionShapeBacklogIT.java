package io.behaviorcep.it;

import io.behaviorcep.testing.IntegrationServices;

import org.apache.flink.core.execution.JobClient;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The production shape, a backlog (see {@link ProductionShape}): the whole input is in the
 * 12-partition topic before the job starts.
 */
class ProductionShapeBacklogIT extends ProductionShape {
    @Test
    void aBacklogInTwelvePartitionsIsReadWithoutLateEvents() throws Exception {
        String topic = newTopic("shape-backlog");
        produce(topic, 0, RECORDS); // (4) everything is there before the job starts
        IntegrationServices.Run run = services.newRun("shape_backlog", topic, settings());
        JobClient job = submit(run);
        try {
            awaitRunning(job);
            awaitCaughtUp(run, topic, job);
            assertThat(IntegrationServices.maxAttempt(services.graph(job.getJobID()))).as("no restart").isZero();
            compareWithReplay(run, job);
        } finally {
            job.cancel().get(60, TimeUnit.SECONDS);
        }
    }

}
