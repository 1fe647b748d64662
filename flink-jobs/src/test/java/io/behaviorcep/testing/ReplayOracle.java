package io.behaviorcep.testing;

import io.behaviorcep.config.JobConfig;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.replay.EventFiles;
import io.behaviorcep.replay.EventLogFormat;
import io.behaviorcep.replay.ReplayRunner;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code replay} as the reference a streaming run is compared with: the same events from a file,
 * the same settings and patterns, and the keys both sides are compared by.
 */
public final class ReplayOracle {
    private ReplayOracle() {}

    /** Replay of a file of Segment JSON lines with the job's settings and its pattern folder. */
    public static ReplayRunner.Result replay(JobConfig config, Path events, Path workDir, int parallelism) throws Exception {
        PatternLoader.Result loaded = PatternLoader.load(config.patternsPath());
        ReplayRunner.Options o = new ReplayRunner.Options();
        o.input = ReplayRunner.Input.of(EventFiles.of(events, EventLogFormat.SEGMENT));
        o.patterns = loaded.patterns();
        o.segments = loaded.segments();
        o.traits = loaded.traits();
        o.out = Files.createTempDirectory(workDir, "replay");
        o.config = config;
        o.parallelism = parallelism;
        return ReplayRunner.run(o);
    }

    /** A segment update as compared: user, segment, action, reason and time. */
    public static String segmentKey(JsonNode u) {
        return u.get("user_id").asText() + " " + u.get("segment").asText() + " " + u.get("action").asText() + " " + u.get("reason").asText()
                + " " + u.get("at").asText();
    }

    /** The ids whose replay time is at or before the cut; ids replay does not know are kept (and fail the check). */
    public static Set<String> upTo(Set<String> ids, Map<String, Long> replayTimes, long cut) {
        Set<String> out = new TreeSet<>();
        for (String id : ids) {
            Long at = replayTimes.get(id);
            if (at == null || at <= cut) out.add(id);
        }
        return out;
    }
}
