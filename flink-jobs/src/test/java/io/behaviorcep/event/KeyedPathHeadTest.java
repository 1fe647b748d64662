package io.behaviorcep.event;

import org.apache.flink.api.common.TaskInfoImpl;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class KeyedPathHeadTest {

    @Test
    void eachSubtaskCarriesChangesUnderAKeyOfItsOwnKeyGroups() {
        for (int parallelism : new int[] {1, 2, 3, 12, 128}) {
            Set<String> keys = new HashSet<>();
            for (int index = 0; index < parallelism; index++) {
                String key = KeyedPathHead.keyOf(new TaskInfoImpl("keyed path", 128, index, parallelism, 0));
                assertThat(key).startsWith(KeyedPathRecords.NO_USER);
                assertThat(KeyGroupRangeAssignment.assignKeyToParallelOperator(key, 128, parallelism))
                        .as("subtask %d of %d", index, parallelism).isEqualTo(index);
                keys.add(key);
            }
            assertThat(keys).hasSize(parallelism);
        }
    }
}
