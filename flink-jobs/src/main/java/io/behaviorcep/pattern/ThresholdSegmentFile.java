package io.behaviorcep.pattern;


import java.io.Serializable;
import java.util.List;

/** One {@code kind: segments} file: its threshold segments and its {@code examples:} (run by the segment test kit). */
public final class ThresholdSegmentFile implements Serializable {
    private static final long serialVersionUID = 1L;

    public final String source;
    public final List<ThresholdSegment> segments;
    public final List<Example> examples;

    public ThresholdSegmentFile(String source, List<ThresholdSegment> segments, List<Example> examples) {
        this.source = source;
        this.segments = List.copyOf(segments);
        this.examples = List.copyOf(examples);
    }
}
