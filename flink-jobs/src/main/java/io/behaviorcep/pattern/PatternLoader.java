package io.behaviorcep.pattern;

import io.behaviorcep.util.EditDistance;

import io.behaviorcep.pattern.PatternDefinition.AlertAction;
import io.behaviorcep.pattern.PatternDefinition.CapAction;
import io.behaviorcep.pattern.PatternDefinition.Contiguity;
import io.behaviorcep.pattern.PatternDefinition.SegmentAction;
import io.behaviorcep.pattern.PatternDefinition.StepDefinition;
import io.behaviorcep.pattern.expr.ConditionParser;
import io.behaviorcep.pattern.expr.ConditionSyntaxException;
import io.behaviorcep.pattern.expr.Expr;
import io.behaviorcep.pattern.expr.FieldRef;
import io.behaviorcep.event.ProfileSnapshot;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Reads pattern files into {@link PatternDefinition}s and reports every problem it finds, each with
 * file, line and column, instead of stopping at the first. Works on the YAML node tree (not a
 * data binding) precisely so that every value keeps its position.
 */
public final class PatternLoader {

    /**
     * Everything read: the valid patterns, the threshold segment files ({@code kind: segments}, e.g.
     * {@code segments.yaml}) and every problem. Usable only if {@link #problems} is empty.
     */
    public record Result(List<PatternDefinition> patterns, List<PatternProblem> problems, List<ThresholdSegmentFile> segmentFiles,
                         List<TraitDefinition> traits, List<TraitsFile> traitsFiles) {
        public Result(List<PatternDefinition> patterns, List<PatternProblem> problems, List<ThresholdSegmentFile> segmentFiles,
                      List<TraitDefinition> traits) {
            this(patterns, problems, segmentFiles, traits, List.of());
        }

        public Result(List<PatternDefinition> patterns, List<PatternProblem> problems) {
            this(patterns, problems, List.of());
        }

        public Result(List<PatternDefinition> patterns, List<PatternProblem> problems, List<ThresholdSegmentFile> segmentFiles) {
            this(patterns, problems, segmentFiles, List.of());
        }

        public boolean ok() {
            return problems.isEmpty();
        }

        /** Every threshold segment of every segments file (disabled ones too), in file order. */
        public List<ThresholdSegment> segments() {
            List<ThresholdSegment> out = new ArrayList<>();
            for (ThresholdSegmentFile f : segmentFiles) out.addAll(f.segments);
            return out;
        }

        public List<PatternDefinition> orThrow() {
            if (!ok()) throw new InvalidPatternsException(problems);
            return patterns;
        }
    }

    /** Top-level keys of a {@code kind: segments} file and of one segment in it. */
    static final Set<String> SEGMENTS_FILE_KEYS = Set.of("kind", "description", "owner", "params", "segments", "examples");
    static final Set<String> THRESHOLD_SEGMENT_KEYS = Set.of("id", "description", "enabled", "when");
    /** Reasons the job itself gives to segment updates: no threshold segment may be called so. */
    static final Set<String> RESERVED_REASONS = Set.of("ttl", "suppressed", "erased");
    /** File names read as threshold segment files even without {@code kind: segments}. */
    public static final Set<String> SEGMENTS_FILE_NAMES = Set.of("segments.yaml", "segments.yml");
    static final Set<String> TOP_KEYS = Set.of("id", "version", "description", "owner", "enabled", "params", "steps", "within",
            "after_match", "on_change", "actions", "examples", "on_timeout", "experiment", "goal");
    static final Set<String> STEP_KEYS = Set.of("name", "event", "type", "where", "contiguity", "within", "absent", "for",
            "times", "one_or_more", "optional", "greedy", "until", "loop", "any_of", "group");
    static final Set<String> MATCHER_KEYS = Set.of("event", "type", "where", "any_of");
    static final Set<String> ALTERNATIVE_KEYS = Set.of("event", "type", "where");
    static final Set<String> ACTION_KEYS = Set.of("alert", "segment", "cap");
    static final Set<String> ALERT_KEYS = Set.of("type", "severity", "payload");
    static final Set<String> ON_TIMEOUT_KEYS = Set.of("reached", "alert");
    static final Set<String> SEGMENT_KEYS = Set.of("name", "ttl", "exit_on", "exit_alert");
    static final Set<String> CAP_KEYS = Set.of("max", "per");
    static final Set<String> SEVERITIES = Set.of("info", "low", "medium", "high", "critical");
    static final Set<String> EVENT_TYPES = Set.of("track", "page", "screen", "identify", "group", "alias");
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9_-]*");
    static final Pattern NAME = Pattern.compile("[a-z_][a-z0-9_]*");
    private static final Pattern TEMPLATE = Pattern.compile("\\$\\{([^}]*)}");
    private static final Pattern PARAM = Pattern.compile("\\$\\{\\s*params\\.([A-Za-z0-9_]+)\\s*}");
    private static final Pattern TIMES = Pattern.compile("(\\d+)(?:\\s*\\.\\.\\s*(\\d*))?");
    /** {@code event: "*"}: any event of the user. */
    public static final String ANY_EVENT = "*";

    private PatternLoader() {}

    /** A pattern file, or every {@code *.yaml}/{@code *.yml} in a folder (not recursive), checked together. */
    public static Result load(Path path) {
        if (Files.isDirectory(path)) {
            List<Path> files;
            try (Stream<Path> s = Files.list(path)) {
                files = s.filter(p -> {
                    String n = p.getFileName().toString();
                    return Files.isRegularFile(p) && (n.endsWith(".yaml") || n.endsWith(".yml"));
                }).sorted().collect(Collectors.toList());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Map<String, String> texts = new LinkedHashMap<>();
            for (Path f : files) texts.put(f.toString(), read(f));
            return loadAll(texts);
        }
        if (!Files.exists(path)) {
            return new Result(List.of(), List.of(new PatternProblem(path.toString(), 1, 1, "no such file or folder")));
        }
        return loadAll(Map.of(path.toString(), read(path)));
    }

    /** Several files by name and text; duplicate ids across them are problems. */
    public static Result loadAll(Map<String, String> filesByName) {
        List<PatternDefinition> patterns = new ArrayList<>();
        List<PatternProblem> problems = new ArrayList<>();
        Map<String, String> seenIds = new HashMap<>();
        List<FileReader> segmentReaders = new ArrayList<>();
        List<FileReader> traitReaders = new ArrayList<>();
        List<FileReader> allReaders = new ArrayList<>();
        for (Map.Entry<String, String> f : filesByName.entrySet()) {
            FileReader r = new FileReader(f.getKey());
            allReaders.add(r);
            PatternDefinition p = r.read(f.getValue());
            if (p != null) p.text(f.getValue());
            problems.addAll(r.problems);
            if (r.segmentFile != null || r.isSegmentsFile) {
                segmentReaders.add(r);
            } else if (r.traitsFile != null) {
                traitReaders.add(r);
            } else if (p != null) {
                String other = seenIds.putIfAbsent(p.id, f.getKey());
                if (other != null) {
                    problems.add(new PatternProblem(f.getKey(), r.idLine, r.idColumn,
                            "duplicate pattern id '" + p.id + "', also defined in " + other));
                } else if (r.problems.isEmpty()) {
                    patterns.add(p);
                }
            }
        }
        // threshold segments: unique across files, and no name a pattern's segment or the job already uses
        Map<String, String> patternSegments = new HashMap<>();
        for (PatternDefinition p : patterns) if (p.segment != null) patternSegments.putIfAbsent(p.segment.name, p.source);
        Map<String, String> seenSegments = new HashMap<>();
        List<ThresholdSegmentFile> segmentFiles = new ArrayList<>();
        for (FileReader r : segmentReaders) {
            boolean clean = r.problems.isEmpty();
            for (Map.Entry<String, int[]> e : r.segmentIdPositions.entrySet()) {
                String id = e.getKey();
                int[] at = e.getValue();
                String other = seenSegments.putIfAbsent(id, r.file);
                if (other != null) {
                    problems.add(new PatternProblem(r.file, at[0], at[1], "duplicate threshold segment id '" + id + "', also defined in " + other));
                    clean = false;
                } else if (patternSegments.containsKey(id)) {
                    problems.add(new PatternProblem(r.file, at[0], at[1], "segment '" + id + "' is already the segment of a pattern ("
                            + patternSegments.get(id) + "); a segment has one definition"));
                    clean = false;
                } else if (seenIds.containsKey(id)) {
                    problems.add(new PatternProblem(r.file, at[0], at[1], "'" + id + "' is already a pattern id (" + seenIds.get(id)
                            + "); segment updates name their cause by id, so it must be unique"));
                    clean = false;
                }
            }
            if (clean && r.segmentFile != null) segmentFiles.add(r.segmentFile);
        }
        List<TraitDefinition> traits = TraitChecks.acrossFiles(traitReaders, allReaders, problems);
        List<TraitsFile> traitsFiles = new ArrayList<>();
        for (FileReader r : traitReaders) {
            if (r.problems.isEmpty()) traitsFiles.add(new TraitsFile(r.file, r.traitsFile, r.traitExamples));
        }
        problems.sort(null);
        return new Result(patterns, problems, segmentFiles, traits, traitsFiles);
    }

    public static Result loadString(String name, String yaml) {
        return loadAll(Map.of(name, yaml));
    }

    private static String read(Path f) {
        try {
            return readText(f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Starts the "text" of a file whose bytes are not UTF-8: a lone surrogate, which no decoded UTF-8
     * can contain, so no real file is taken for one. The bytes follow as ISO-8859-1, so two such files
     * differ when their bytes do (the watcher tells changes apart by the text's hash).
     */
    private static final char NOT_UTF8 = '\uD800';

    /**
     * A pattern file's text, for {@link #loadAll}; every reader of pattern files goes through here so
     * that a file that is not UTF-8 (a binary, a Latin-1 editor) is a problem of that file
     * ({@code FILE:1:1: not UTF-8 text}), not an exception.
     */
    public static String readText(Path f) throws IOException {
        byte[] bytes = Files.readAllBytes(f);
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return NOT_UTF8 + new String(bytes, StandardCharsets.ISO_8859_1);
        }
    }

    static boolean isNotUtf8(String text) {
        return !text.isEmpty() && text.charAt(0) == NOT_UTF8;
    }

    /** Reads one file; collects problems as it goes. */
    static final class FileReader {
        final String file;
        final List<PatternProblem> problems = new ArrayList<>();
        int idLine = 1;
        int idColumn = 1;

        FileReader(String file) {
            this.file = file;
        }

        private String[] lines = new String[0];
        /** Set when this is a threshold segments file (then {@link #read} returns null). */
        ThresholdSegmentFile segmentFile;
        boolean isSegmentsFile;
        /** Each threshold segment id and where it is written (line, column). */
        final Map<String, int[]> segmentIdPositions = new LinkedHashMap<>();
        /** Set when this is a traits file (then {@link #read} returns null). */
        List<TraitDefinition> traitsFile;
        /** The {@code examples:} of a traits file. */
        List<Example> traitExamples = List.of();
        /** Each trait id of a traits file and where it is written (line, column). */
        final Map<String, int[]> traitIdPositions = new LinkedHashMap<>();
        /** Every {@code profile.traits.<id>} this file reads: id, line, column; checked against all traits files. */
        final List<Object[]> traitRefs = new ArrayList<>();

        PatternDefinition read(String text) {
            if (isNotUtf8(text)) {
                problems.add(new PatternProblem(file, 1, 1, "not UTF-8 text"));
                return null;
            }
            lines = text.split("\n", -1);
            Node root;
            try {
                LoaderOptions options = new LoaderOptions();
                options.setAllowDuplicateKeys(false);
                root = new Yaml(options).compose(new StringReader(text));
            } catch (MarkedYAMLException e) {
                Mark m = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
                String what = e.getProblem() != null ? e.getProblem() : e.getMessage();
                problems.add(new PatternProblem(file, m == null ? 1 : m.getLine() + 1, m == null ? 1 : m.getColumn() + 1,
                        "YAML syntax: " + what + (e.getContext() != null ? " (" + e.getContext() + ")" : "")));
                return null;
            } catch (RuntimeException e) {
                problems.add(new PatternProblem(file, 1, 1, "YAML syntax: " + e.getMessage()));
                return null;
            }
            if (root == null) {
                problems.add(new PatternProblem(file, 1, 1, "the file is empty; a pattern needs at least id, version and steps"));
                return null;
            }
            if (!(root instanceof MappingNode top)) {
                problem(root, "a pattern file must be a mapping of keys (id, version, steps, ...)");
                return null;
            }
            String kind = null;
            NodeTuple kindTuple = null;
            for (NodeTuple t : top.getValue()) {
                if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals("kind")) {
                    kindTuple = t;
                    kind = t.getValueNode() instanceof ScalarNode v ? v.getValue() : null;
                }
            }
            // the messaging policy beside the patterns: read and checked by io.behaviorcep.policy.PolicyFile
            if ("policy".equals(kind)) return null;
            String fileName = Path.of(file).getFileName() == null ? file : Path.of(file).getFileName().toString();
            if ("segments".equals(kind) || (kind == null && SEGMENTS_FILE_NAMES.contains(fileName))) {
                isSegmentsFile = true;
                segmentFile = new SegmentsFileReader(this).read(top);
                return null;
            }
            if ("traits".equals(kind) || (kind == null && TraitsFileReader.FILE_NAMES.contains(fileName))) {
                traitsFile = new TraitsFileReader(this).read(top);
                return null;
            }
            if (kindTuple != null && !"pattern".equals(kind)) {
                problem(kindTuple.getValueNode(), "kind '" + kind + "' is not 'pattern', 'segments' or 'traits'"
                        + didYouMean(String.valueOf(kind), Set.of("pattern", "segments", "traits")));
            }
            if (kindTuple != null) {
                // 'kind: pattern' is allowed and means the default
                List<NodeTuple> rest = new ArrayList<>(top.getValue());
                rest.remove(kindTuple);
                top = new MappingNode(top.getTag(), rest, top.getFlowStyle());
            }
            Map<String, NodeTuple> keys = keys(top, TOP_KEYS, "pattern");

            String id = requiredString(keys, "id", top);
            if (keys.containsKey("id")) {
                idLine = line(keys.get("id").getValueNode());
                idColumn = column(keys.get("id").getValueNode());
            }
            if (id != null && !ID.matcher(id).matches()) {
                problem(keys.get("id").getValueNode(), "id '" + id + "' must be lowercase letters, digits, '-' or '_' (e.g. cart-abandonment)");
            }
            Integer version = requiredInt(keys, "version", top);
            if (version != null && version < 1) problem(keys.get("version").getValueNode(), "version must be 1 or more");
            String description = optionalString(keys, "description");
            String owner = optionalString(keys, "owner");
            Boolean enabled = optionalBool(keys, "enabled");
            readParams(keys.get("params"));
            Duration within = keys.containsKey("within") ? duration(keys.get("within").getValueNode()) : null;

            List<StepDefinition> steps = readSteps(keys.get("steps"), top, within != null);
            List<StepDefinition> flatSteps = new ArrayList<>();
            for (StepDefinition s : steps) {
                if (s.isGroup()) flatSteps.addAll(s.group);
                else flatSteps.add(s);
            }
            // events are bound under the names of steps, never of groups
            Set<String> stepNames = flatSteps.stream().map(s -> s.name).collect(Collectors.toSet());
            Set<String> groupedSteps = new HashSet<>(stepNames);
            for (StepDefinition s : steps) groupedSteps.remove(s.name);

            AlertAction alert = null;
            SegmentAction segment = null;
            CapAction cap = null;
            NodeTuple actions = keys.get("actions");
            PatternDefinition.OnTimeout onTimeout = keys.containsKey("on_timeout")
                    ? readOnTimeout(keys.get("on_timeout"), flatSteps.subList(!steps.isEmpty() && steps.get(0).absent ? 1 : 0, flatSteps.size()), within != null) : null;
            if (actions == null && onTimeout == null && !keys.containsKey("on_timeout")) {
                problem(top, "missing 'actions': a pattern must raise an alert and/or enter a segment");
            } else if (actions != null && mapping(actions.getValueNode(), "actions") instanceof MappingNode am) {
                Map<String, NodeTuple> ak = keys(am, ACTION_KEYS, "actions");
                if (ak.containsKey("alert")) alert = readAlert(ak.get("alert").getValueNode(), stepNames);
                if (ak.containsKey("segment")) segment = readSegment(ak.get("segment").getValueNode());
                if (ak.containsKey("cap")) cap = readCap(ak.get("cap").getValueNode());
                if (!ak.containsKey("alert") && !ak.containsKey("segment") && onTimeout == null) {
                    problem(am, "'actions' needs an 'alert' or a 'segment' (or both)");
                }
                if (ak.containsKey("cap") && !ak.containsKey("alert") && onTimeout == null) {
                    problem(ak.get("cap").getKeyNode(), "'cap' limits alerts, but this pattern has no 'alert'");
                }
            }
            PatternDefinition.AfterMatch afterMatch = PatternDefinition.AfterMatch.NO_SKIP;
            String afterMatchStep = null;
            if (keys.containsKey("after_match")) {
                Node am = keys.get("after_match").getValueNode();
                String strategy = null;
                if (am instanceof ScalarNode sc) {
                    strategy = sc.getValue();
                } else if (am instanceof MappingNode mm && mm.getValue().size() == 1) {
                    strategy = scalar(mm.getValue().get(0).getKeyNode(), "after_match");
                    afterMatchStep = scalar(mm.getValue().get(0).getValueNode(), "after_match step");
                } else {
                    problem(am, "'after_match' is one of no_skip, skip_past_last_event, skip_to_next, or {skip_to_first: step} / {skip_to_last: step}");
                }
                if (strategy != null) {
                    afterMatch = null;
                    for (PatternDefinition.AfterMatch a : PatternDefinition.AfterMatch.values()) if (a.yaml.equals(strategy)) afterMatch = a;
                    Set<String> known = Set.of("no_skip", "skip_past_last_event", "skip_to_next", "skip_to_first", "skip_to_last");
                    if (afterMatch == null) {
                        problem(am, "after_match '" + strategy + "' is not one of " + new java.util.TreeSet<>(known) + didYouMean(strategy, known));
                        afterMatch = PatternDefinition.AfterMatch.NO_SKIP;
                    } else if ((afterMatch == PatternDefinition.AfterMatch.SKIP_TO_FIRST || afterMatch == PatternDefinition.AfterMatch.SKIP_TO_LAST)) {
                        if (afterMatchStep == null) problem(am, "after_match " + strategy + " needs a step: {" + strategy + ": <step>}");
                        else if (!stepNames.contains(afterMatchStep)) problem(am, "after_match refers to step '" + afterMatchStep + "', which this pattern does not have" + didYouMean(afterMatchStep, stepNames));
                        else if (groupedSteps.contains(afterMatchStep)) problem(am, "after_match cannot skip to step '" + afterMatchStep + "' inside a group: Flink CEP only finds the steps outside groups");
                    } else if (afterMatchStep != null) {
                        problem(am, "after_match " + strategy + " takes no step");
                    }
                }
            }
            PatternDefinition.OnChange onChange = PatternDefinition.OnChange.DRAIN;
            if (keys.containsKey("on_change")) {
                NodeTuple oc = keys.get("on_change");
                String v = scalar(oc.getValueNode(), "on_change");
                PatternDefinition.OnChange parsed = v == null ? null : PatternDefinition.OnChange.ofYaml(v);
                if (v != null && parsed == null) {
                    problem(oc.getValueNode(), "on_change must be drain, restart or keep, not '" + v + "'"
                            + didYouMean(v, Set.of("drain", "restart", "keep")));
                } else if (parsed != null) {
                    onChange = parsed;
                }
            }
            ExperimentReader experiments = new ExperimentReader(this);
            PatternDefinition.Goal goal = keys.containsKey("goal") ? experiments.goal(keys.get("goal").getValueNode()) : null;
            ExperimentReader.WrittenExperiment experiment = keys.containsKey("experiment") && !readingArm
                    ? experiments.experiment(keys.get("experiment").getValueNode(), params, alert, stepNames, keys.containsKey("goal"), top) : null;
            Set<String> armNames = experiment == null ? null
                    : experiment.variants().stream().map(ExperimentReader.Written::name).collect(Collectors.toSet());
            List<Example> examples = keys.containsKey("examples") && !readingArm
                    ? new ExampleReader(this, stepNames, armNames).read(keys.get("examples").getValueNode()) : List.of();
            if (!problems.isEmpty()) return id == null ? null : partial(id, version);
            PatternDefinition def = new PatternDefinition(id, version, description, owner, enabled == null || enabled, steps, alert, segment,
                    cap, within, afterMatch, afterMatchStep, onChange, file, examples);
            if (onTimeout != null && alert != null && alert.type.equals(onTimeout.alert.type)) {
                problem(keys.get("on_timeout").getValueNode(), "the 'on_timeout' alert needs a type of its own; '" + alert.type
                        + "' is the type of the pattern's match alert");
                return partial(id, version);
            }
            def.onTimeout(onTimeout);
            String flinkProblem = CepPatternCompiler.check(def);
            if (flinkProblem != null) {
                problem(keys.get("steps").getKeyNode(), "Flink CEP cannot run these steps: " + flinkProblem);
                return partial(id, version);
            }
            def.goal(goal);
            if (experiment != null) {
                PatternDefinition.Experiment built = experiments.build(experiment, def, text);
                if (!problems.isEmpty()) return partial(id, version);
                def.experiment(built);
            }
            return def;
        }

        private final Map<String, String> params = new HashMap<>();
        /** An experiment arm's parameters, read in place of the declared values (see {@link ExperimentReader}). */
        Map<String, String> paramOverrides = Map.of();
        /** Set while the file is read again for an experiment arm: its experiment and examples are the pattern's. */
        boolean readingArm;

        /** {@code params:} name -> value, substituted as {@code ${params.name}} into conditions before they are parsed. */
        void readParams(NodeTuple t) {
            if (t == null) return;
            if (!(mapping(t.getValueNode(), "params") instanceof MappingNode m)) return;
            for (NodeTuple p : m.getValue()) {
                String name = scalar(p.getKeyNode(), "param name");
                String value = scalar(p.getValueNode(), "param value");
                if (name != null && value != null) params.put(name, value);
            }
            params.putAll(paramOverrides);
        }

        /** A stand-in carrying only the id, so duplicate ids are still reported for broken files. */
        private PatternDefinition partial(String id, Integer version) {
            return new PatternDefinition(id, version == null ? 0 : version, null, null, false, List.of(), null, null, null, null,
                    PatternDefinition.AfterMatch.NO_SKIP, null, PatternDefinition.OnChange.DRAIN, file, List.of());
        }

        private List<StepDefinition> readSteps(NodeTuple stepsTuple, Node parent, boolean patternWindow) {
            List<StepDefinition> steps = new ArrayList<>();
            if (stepsTuple == null) {
                problem(parent, "missing 'steps': list the steps of the sequence, e.g. - name: viewed / event: Product Viewed");
                return steps;
            }
            Node n = stepsTuple.getValueNode();
            if (!(n instanceof SequenceNode seq) || seq.getValue().isEmpty()) {
                problem(n, "'steps' must be a non-empty list of steps");
                return steps;
            }
            StepNames names = new StepNames();
            List<Node> items = seq.getValue();
            // an absence at the start is judged before the step after it, which then starts the sequence
            boolean leading = isAbsent(items.get(0));
            for (int i = 0; i < items.size(); i++) {
                boolean afterLeading = leading && i == 1 && !isAbsent(items.get(1));
                Place at = new Place(i == 0 || afterLeading, i == items.size() - 1, items.size() - (leading ? 1 : 0), afterLeading);
                StepDefinition s = readStep(items.get(i), at, names, steps, patternWindow, false);
                if (s != null) steps.add(s);
            }
            return steps;
        }

        /** The names of steps (conditions may refer to the earlier ones), and every name taken, groups' included. */
        private static final class StepNames {
            final Set<String> bindable = new HashSet<>();
            final Set<String> all = new HashSet<>();
        }

        /**
         * Where a step is written: first and last of its list (the pattern's steps, or a group's), how
         * many steps the list has (besides an absence at the start), and whether it follows an absence
         * at the start (then it is the first step of the sequence that binds an event).
         */
        private record Place(boolean first, boolean last, int count, boolean afterLeadingAbsence) {
            Place(boolean first, boolean last, int count) {
                this(first, last, count, false);
            }
        }

        private static boolean isAbsent(Node item) {
            if (!(item instanceof MappingNode m)) return false;
            for (NodeTuple t : m.getValue()) if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals("absent")) return true;
            return false;
        }

        /**
         * One step of the pattern or of a group ({@code inGroup}); {@code before}: the steps before it
         * in its list. A group's first step takes the group's window and contiguity.
         */
        private StepDefinition readStep(Node item, Place at, StepNames names, List<StepDefinition> before, boolean patternWindow,
                                        boolean inGroup) {
            if (!(item instanceof MappingNode m)) {
                problem(item, "a step must be a mapping with at least 'name' and 'event' (or 'absent' or 'group')");
                return null;
            }
            Map<String, NodeTuple> k = keys(m, STEP_KEYS, "step");
            String name = requiredString(k, "name", m);
            if (name != null && !NAME.matcher(name).matches()) {
                problem(k.get("name").getValueNode(), "step name '" + name + "' must be lowercase letters, digits and '_', starting with a letter");
            } else if (name != null && !names.all.add(name)) {
                problem(k.get("name").getValueNode(), "step name '" + name + "' is used twice");
            }
            if (k.containsKey("group")) return readGroup(item, m, k, name, at, names, patternWindow, inGroup);
            boolean first = at.first && !inGroup;
            boolean last = at.last && !inGroup;
            boolean absent = k.containsKey("absent");
            if (name != null) names.bindable.add(name);
            EventMatcher matcher;
            Duration absentFor = null;
            if (absent) {
                for (String clash : List.of("event", "type", "where", "any_of")) {
                    if (k.containsKey(clash)) {
                        problem(k.get(clash).getKeyNode(), "an 'absent' step describes the missing event inside 'absent:'; move '" + clash + "' there");
                    }
                }
                matcher = readMatcher(k.get("absent").getValueNode(), "absent", names.bindable);
                if (inGroup && (at.first || at.last)) {
                    problem(item, "an 'absent' step in a group goes between two of its steps: Flink CEP cannot start a group with an"
                            + " absence, and drops one at its end without a word; put the absence after the group instead");
                } else if (first && last) {
                    problem(item, "an 'absent' step at the start needs a step after it: the absence is judged before that step's event");
                } else if (first) {
                    if (k.containsKey("for")) absentFor = duration(k.get("for").getValueNode());
                    else if (!patternWindow) {
                        problem(k.get("absent").getKeyNode(), "an 'absent' step at the start needs 'for: <duration>' (how long before the"
                                + " next step's event the event must have stayed away), or the pattern a 'within'");
                    }
                } else if (last && !k.containsKey("for")) {
                    problem(k.get("absent").getKeyNode(), "an 'absent' step at the end needs 'for: <duration>' (how long the event must stay away, measured from the previous step)");
                } else if (last) {
                    absentFor = duration(k.get("for").getValueNode());
                } else if (k.containsKey("for")) {
                    problem(k.get("for").getKeyNode(), "'for' applies to an absence at the end; in the middle the absence lasts until the next step");
                }
                if (k.containsKey("within")) {
                    problem(k.get("within").getKeyNode(), "an 'absent' step takes 'for', not 'within'");
                }
                for (String q : List.of("times", "one_or_more", "optional", "greedy", "until", "loop")) {
                    if (k.containsKey(q)) problem(k.get(q).getKeyNode(), "'" + q + "' does not apply to an 'absent' step");
                }
                if (!before.isEmpty() && before.get(before.size() - 1).absent) {
                    problem(item, "two 'absent' steps in a row; describe both events in one 'absent' with an 'or' condition");
                }
            } else {
                if (k.containsKey("for")) problem(k.get("for").getKeyNode(), "'for' belongs to an 'absent' step; did you mean 'within'?");
                if (!k.containsKey("event") && !k.containsKey("type") && !k.containsKey("any_of")) {
                    problem(m, "step '" + (name == null ? "?" : name) + "' needs 'event' (a track event name), 'type' (page, screen, ...) or 'any_of'");
                }
                matcher = readMatcher(m, null, names.bindable);
            }
            boolean groupHead = inGroup && at.first;
            if (groupHead && k.containsKey("contiguity")) {
                problem(k.get("contiguity").getKeyNode(), "the first step of a group follows what comes before the group as the group says: put 'contiguity' on the group");
            }
            Contiguity contiguity = readContiguity(k, first, absent);
            Duration within = null;
            if (!absent && !first && !groupHead && !k.containsKey("within") && !patternWindow) {
                problem(item, "step '" + (name == null ? "?" : name) + "' needs 'within: <duration>' (measured from the previous step), or the pattern a 'within', so that unfinished matches expire");
            }
            if (k.containsKey("within") && !absent) {
                if (first) problem(k.get("within").getKeyNode(), "'within' on the first step has nothing to measure from; put it on a later step");
                else if (groupHead) problem(k.get("within").getKeyNode(), "the first step of a group is timed from the event before it as the group says: put 'within' on the group");
                within = duration(k.get("within").getValueNode());
            }
            PatternDefinition.Quantifier quantifier = absent ? PatternDefinition.Quantifier.ONCE : readQuantifier(k, names.bindable);
            if (at.afterLeadingAbsence && quantifier.optional) optionalAfterLeadingAbsence(k);
            if (first && quantifier.loops() && !patternWindow && at.count == 1) {
                problem(item, "a repeated step on its own needs the pattern's 'within', so that unfinished matches expire");
            }
            return new StepDefinition(name == null ? "step" + before.size() : name, matcher, contiguity, within, absent, absentFor, quantifier, line(item));
        }

        private void optionalAfterLeadingAbsence(Map<String, NodeTuple> k) {
            problem(k.get("optional").getKeyNode(), "the step after an absence at the start cannot be optional: the absence is"
                    + " judged at that step's event, so the step must happen");
        }

        private Contiguity readContiguity(Map<String, NodeTuple> k, boolean first, boolean absent) {
            Contiguity contiguity = Contiguity.FOLLOWED_BY;
            if (k.containsKey("contiguity")) {
                Node cn = k.get("contiguity").getValueNode();
                String c = scalar(cn, "contiguity");
                if (first) problem(k.get("contiguity").getKeyNode(), "the first step has no previous step; 'contiguity' does not apply");
                if (c != null) {
                    contiguity = null;
                    for (Contiguity x : Contiguity.values()) if (x.yaml.equals(c)) contiguity = x;
                    if (contiguity == null) {
                        problem(cn, "contiguity '" + c + "' is not one of next, followed_by, followed_by_any" + didYouMean(c, Set.of("next", "followed_by", "followed_by_any")));
                        contiguity = Contiguity.FOLLOWED_BY;
                    }
                    if (absent && contiguity == Contiguity.FOLLOWED_BY_ANY) {
                        problem(cn, "an 'absent' step cannot be followed_by_any");
                    }
                }
            }
            return contiguity;
        }

        /**
         * {@code group:}: two or more steps quantified together (Flink CEP's {@code GroupPattern}). The
         * group takes {@code contiguity}, {@code within} (for its first step), {@code times},
         * {@code one_or_more}, {@code optional} and {@code loop}; groups do not nest.
         */
        private StepDefinition readGroup(Node item, MappingNode m, Map<String, NodeTuple> k, String name, Place at, StepNames names,
                                         boolean patternWindow, boolean inGroup) {
            if (inGroup) {
                problem(k.get("group").getKeyNode(), "a group inside a group is not supported: Flink CEP would copy the inner group's"
                        + " steps for every repetition of the outer one; write the steps out, or quantify one group");
            }
            for (String clash : List.of("event", "type", "where", "any_of", "absent", "for")) {
                if (k.containsKey(clash)) {
                    problem(k.get(clash).getKeyNode(), "'" + clash + "' does not apply to a group; the steps inside 'group:' say which events they take");
                }
            }
            if (k.containsKey("greedy")) problem(k.get("greedy").getKeyNode(), "'greedy' does not apply to a group: Flink CEP rejects it");
            if (k.containsKey("until")) problem(k.get("until").getKeyNode(), "'until' does not apply to a group; put it on a repeated step inside it");
            Contiguity contiguity = readContiguity(k, at.first, false);
            Duration within = k.containsKey("within") ? duration(k.get("within").getValueNode()) : null;
            if (!k.containsKey("within") && !at.first && !patternWindow) {
                problem(item, "group '" + (name == null ? "?" : name) + "' needs 'within: <duration>' (its first step's, measured from the previous event), or the pattern a 'within', so that unfinished matches expire");
            }
            Map<String, NodeTuple> quantifierKeys = new LinkedHashMap<>(k);
            quantifierKeys.remove("greedy");
            quantifierKeys.remove("until");
            PatternDefinition.Quantifier quantifier = readQuantifier(quantifierKeys, names.bindable);
            if (at.afterLeadingAbsence && quantifier.optional) optionalAfterLeadingAbsence(k);
            // at the start, the group's window can only time the repetitions after the first
            if (at.first && k.containsKey("within") && !quantifier.loops()) {
                problem(k.get("within").getKeyNode(), "'within' on a group at the start times each repetition from the one before;"
                        + " this group does not repeat, so it has nothing to measure from");
            } else if (at.first && quantifier.loops() && !patternWindow && !k.containsKey("within")) {
                problem(item, "a repeated group at the start needs 'within' (from one repetition's last event to the next one's first)"
                        + " or the pattern's 'within', so that unfinished matches expire");
            }
            List<StepDefinition> inner = new ArrayList<>();
            Node g = k.get("group").getValueNode();
            if (!(g instanceof SequenceNode seq) || seq.getValue().size() < 2) {
                problem(g, "'group' is a list of two or more steps, repeated together (for one step, quantify the step itself)");
            } else {
                List<Node> items = seq.getValue();
                for (int j = 0; j < items.size(); j++) {
                    StepDefinition s = readStep(items.get(j), new Place(j == 0, j == items.size() - 1, items.size()), names, inner,
                            patternWindow, true);
                    if (s != null) inner.add(s);
                }
            }
            if (inner.isEmpty()) inner.add(new StepDefinition("empty", new EventMatcher(null, null, List.of()), Contiguity.FOLLOWED_BY,
                    null, false, null, PatternDefinition.Quantifier.ONCE, line(item)));
            return new StepDefinition(name == null ? "group" : name, null, contiguity, within, false, null, quantifier, line(item), inner);
        }

        private PatternDefinition.Quantifier readQuantifier(Map<String, NodeTuple> k, Set<String> names) {
            int min = 1;
            int max = 1;
            if (k.containsKey("times") && k.containsKey("one_or_more")) {
                problem(k.get("one_or_more").getKeyNode(), "use either 'times' or 'one_or_more', not both");
            }
            if (k.containsKey("times")) {
                Node tn = k.get("times").getValueNode();
                String t = scalar(tn, "times");
                java.util.regex.Matcher m = t == null ? null : TIMES.matcher(t.trim());
                if (m == null || !m.matches()) {
                    problem(tn, "'times' is a count (3), a range (2..4) or a minimum (5..), got '" + t + "'");
                } else {
                    min = Integer.parseInt(m.group(1));
                    max = m.group(2) == null ? min : m.group(2).isEmpty() ? -1 : Integer.parseInt(m.group(2));
                    if (min < 1) problem(tn, "'times' must be at least 1; use 'optional: true' for a step that may not happen");
                    else if (max != -1 && max < min) problem(tn, "'times' range " + t + " is empty");
                }
            }
            Boolean oneOrMore = optionalBool(k, "one_or_more");
            if (Boolean.TRUE.equals(oneOrMore)) {
                min = 1;
                max = -1;
            }
            Boolean optional = optionalBool(k, "optional");
            Boolean greedy = optionalBool(k, "greedy");
            boolean loops = max != 1;
            if (Boolean.TRUE.equals(greedy) && !loops) problem(k.get("greedy").getKeyNode(), "'greedy' applies to a repeated step (times or one_or_more)");
            PatternDefinition.Contiguity inner = PatternDefinition.Contiguity.FOLLOWED_BY;
            if (k.containsKey("loop")) {
                Node ln = k.get("loop").getValueNode();
                String l = scalar(ln, "loop");
                inner = null;
                for (PatternDefinition.Contiguity c : PatternDefinition.Contiguity.values()) if (c.yaml.equals(l)) inner = c;
                if (inner == null) {
                    problem(ln, "'loop' (contiguity between the repeated events) is one of next, followed_by, followed_by_any");
                    inner = PatternDefinition.Contiguity.FOLLOWED_BY;
                }
                if (!loops) problem(k.get("loop").getKeyNode(), "'loop' applies to a repeated step (times or one_or_more)");
            }
            EventMatcher until = null;
            if (k.containsKey("until")) {
                if (max != -1) problem(k.get("until").getKeyNode(), "'until' applies to an open-ended repeated step (one_or_more or times: n..)");
                until = readMatcher(k.get("until").getValueNode(), "until", names);
            }
            if (min == 1 && max == 1 && !Boolean.TRUE.equals(optional)) return PatternDefinition.Quantifier.ONCE;
            return new PatternDefinition.Quantifier(min, max, Boolean.TRUE.equals(optional), Boolean.TRUE.equals(greedy), inner, until);
        }

        /** {@code event}, {@code type} and {@code where} of a step or an exit condition; {@code earlierSteps} may be referenced. */
        private EventMatcher readMatcher(Node node, String context, Set<String> earlierSteps) {
            if (!(node instanceof MappingNode m)) {
                problem(node, "'" + context + "' must be a mapping with 'event' and/or 'type' and optional 'where'");
                return new EventMatcher(null, null, List.of());
            }
            Map<String, NodeTuple> k = context == null ? plainKeys(m)
                    : keys(m, ANY_OF_ALTERNATIVE.equals(context) ? ALTERNATIVE_KEYS : MATCHER_KEYS, context);
            if (context != null && !k.containsKey("event") && !k.containsKey("type") && !k.containsKey("any_of")) {
                problem(m, "'" + context + "' needs 'event' or 'type'" + (ANY_OF_ALTERNATIVE.equals(context) ? "" : " (or 'any_of')"));
            }
            List<EventMatcher> alternatives = k.containsKey("any_of") ? readAlternatives(k, earlierSteps) : List.of();
            String event = optionalString(k, "event");
            if (ANY_EVENT.equals(event)) event = null;
            String type = optionalString(k, "type");
            if (type != null && !EVENT_TYPES.contains(type)) {
                problem(k.get("type").getValueNode(), "type '" + type + "' is not a Segment event type " + EVENT_TYPES + didYouMean(type, EVENT_TYPES));
            }
            List<Expr> where = k.containsKey("where") ? readConditions(k.get("where").getValueNode(), earlierSteps) : new ArrayList<>();
            return new EventMatcher(event, type, where, alternatives);
        }

        private static final String ANY_OF_ALTERNATIVE = "any_of alternative";

        /** {@code any_of}: two or more alternatives, each with its own event/type/where; the matcher's own event/type then go. */
        private List<EventMatcher> readAlternatives(Map<String, NodeTuple> k, Set<String> earlierSteps) {
            for (String clash : List.of("event", "type")) {
                if (k.containsKey(clash)) {
                    problem(k.get(clash).getKeyNode(), "'" + clash + "' and 'any_of' do not go together: give each alternative of 'any_of' its own '" + clash + "'");
                }
            }
            Node n = k.get("any_of").getValueNode();
            if (!(n instanceof SequenceNode seq) || seq.getValue().size() < 2) {
                problem(n, "'any_of' is a list of two or more alternatives, each with 'event' and/or 'type' and optional 'where'");
                return List.of();
            }
            List<EventMatcher> out = new ArrayList<>();
            for (Node alt : seq.getValue()) out.add(readMatcher(alt, ANY_OF_ALTERNATIVE, earlierSteps));
            return out;
        }

        /**
         * Conditions: a list of lines, or one line. Parameters are substituted, steps must be earlier
         * steps, and profile fields must exist.
         */
        List<Expr> readConditions(Node w, Set<String> earlierSteps) {
            List<Expr> where = new ArrayList<>();
            List<Node> conds = w instanceof SequenceNode s ? s.getValue() : List.of(w);
            for (Node c : conds) {
                if (!(c instanceof ScalarNode sc)) {
                    problem(c, "a condition must be a line of text, e.g. properties.price >= 10");
                    continue;
                }
                List<int[]> substitutions = new ArrayList<>();
                try {
                    String text = substituteParams(sc.getValue(), c, substitutions);
                    if (text == null) continue;
                    Expr x = ConditionParser.parse(text);
                    for (String ref : x.referencedSteps()) {
                        if (!earlierSteps.contains(ref)) {
                            problem(c, "condition refers to step '" + ref + "', which is not an earlier step"
                                    + (earlierSteps.isEmpty() ? "" : didYouMean(ref, earlierSteps)));
                        }
                    }
                    for (FieldRef ref : x.fieldRefs()) {
                        if (ref.kind() == FieldRef.Kind.PROFILE && ref.field().startsWith(TraitChecks.PREFIX)) {
                            int[] at = positionInScalar(sc, originalOffset(ref.column() - 1 + "profile.traits.".length(), substitutions));
                            traitRefs.add(new Object[] {ref.field().substring(TraitChecks.PREFIX.length()), at[0], at[1]});
                        } else if (ref.kind() == FieldRef.Kind.PROFILE && ProfileSnapshot.timeDependence(ref.field()) == null) {
                            int[] at = positionInScalar(sc, originalOffset(ref.column() - 1, substitutions));
                            problems.add(new PatternProblem(file, at[0], at[1], "unknown profile field '" + ref.field() + "'"
                                    + didYouMean(ref.field(), new java.util.HashSet<>(ProfileSnapshot.FIELDS))
                                    + " (profile fields are listed in docs/pattern-language.md)"));
                        }
                    }
                    conditionScalars.put(x, new Object[] {sc, substitutions});
                    where.add(x);
                } catch (ConditionSyntaxException e) {
                    int[] at = positionInScalar(sc, originalOffset(e.column() - 1, substitutions));
                    problems.add(new PatternProblem(file, at[0], at[1], e.reason()));
                }
            }
            return where;
        }

        /** Where each parsed condition was written, for problems found after parsing (segment files). */
        final Map<Expr, Object[]> conditionScalars = new java.util.IdentityHashMap<>();

        /** Line and column in the file of column {@code column} (1-based) of a parsed condition. */
        int[] positionOf(Expr x, int column) {
            Object[] where = conditionScalars.get(x);
            if (where == null) return new int[] {1, 1};
            @SuppressWarnings("unchecked")
            List<int[]> substitutions = (List<int[]>) where[1];
            return positionInScalar((ScalarNode) where[0], originalOffset(column - 1, substitutions));
        }

        /**
         * Replaces {@code ${params.x}}; null (and a problem) when a parameter is not declared. Records
         * each replacement as {start in the original, original length, replaced length} so error
         * columns can be mapped back to what the operator wrote.
         */
        private String substituteParams(String text, Node at, List<int[]> substitutions) {
            java.util.regex.Matcher m = PARAM.matcher(text);
            StringBuilder sb = new StringBuilder();
            while (m.find()) {
                String v = params.get(m.group(1));
                if (v == null) {
                    problem(at, "unknown parameter '" + m.group(1) + "'; declare it under 'params:'" + didYouMean(m.group(1), params.keySet()));
                    return null;
                }
                substitutions.add(new int[] {m.start(), m.end() - m.start(), v.length()});
                m.appendReplacement(sb, java.util.regex.Matcher.quoteReplacement(v));
            }
            m.appendTail(sb);
            return sb.toString();
        }

        /** An offset in the substituted condition, as an offset in the condition as written. */
        private static int originalOffset(int offset, List<int[]> substitutions) {
            int shift = 0;
            for (int[] sub : substitutions) {
                int startInNew = sub[0] + shift;
                if (offset < startInNew) break;
                if (offset < startInNew + sub[2]) return sub[0]; // inside a parameter's value: point at the ${...}
                shift += sub[2] - sub[1];
            }
            return offset - shift;
        }

        /**
         * Line and column in the file of a character of a scalar's value. Plain and quoted scalars on
         * one line start at the node (plus the quote); block scalars ({@code |}, {@code >}) start on
         * the line after the indicator, at the content's indentation.
         */
        private int[] positionInScalar(ScalarNode sc, int offset) {
            String value = sc.getValue();
            int before = Math.max(0, Math.min(offset, value.length()));
            org.yaml.snakeyaml.DumperOptions.ScalarStyle style = sc.getScalarStyle();
            if (style == org.yaml.snakeyaml.DumperOptions.ScalarStyle.LITERAL || style == org.yaml.snakeyaml.DumperOptions.ScalarStyle.FOLDED) {
                int firstLine = sc.getStartMark().getLine() + 1; // 0-based index of the first content line
                int lineInValue = style == org.yaml.snakeyaml.DumperOptions.ScalarStyle.LITERAL
                        ? (int) value.substring(0, before).chars().filter(ch -> ch == '\n').count() : 0;
                int lastBreak = style == org.yaml.snakeyaml.DumperOptions.ScalarStyle.LITERAL ? value.lastIndexOf('\n', before - 1) : -1;
                int lineIndex = firstLine + lineInValue;
                String raw = lineIndex < lines.length ? lines[lineIndex] : "";
                int indent = 0;
                while (indent < raw.length() && raw.charAt(indent) == ' ') indent++;
                return new int[] {lineIndex + 1, indent + (before - lastBreak - 1) + 1};
            }
            int quote = style == org.yaml.snakeyaml.DumperOptions.ScalarStyle.PLAIN ? 0 : 1;
            return new int[] {line(sc), column(sc) + quote + before};
        }

        /**
         * {@code on_timeout:}: {@code alert} (as in actions) and optional {@code reached} (a positive
         * step the partial match must have bound). Only a pattern whose partial matches can time
         * out may have one: a step after the first (which always has a window) or the pattern's {@code within}.
         */
        private PatternDefinition.OnTimeout readOnTimeout(NodeTuple t, List<StepDefinition> steps, boolean patternWindow) {
            if (!(mapping(t.getValueNode(), "on_timeout") instanceof MappingNode m)) return null;
            Map<String, NodeTuple> k = keys(m, ON_TIMEOUT_KEYS, "on_timeout");
            Set<String> stepNames = steps.stream().map(x -> x.name).collect(Collectors.toSet());
            if (steps.size() < 2 && !patternWindow) {
                problem(t.getKeyNode(), "'on_timeout' needs partial matches that can time out: a second step (with its 'within') or the pattern's 'within'");
            }
            String reached = optionalString(k, "reached");
            if (reached != null) {
                StepDefinition step = steps.stream().filter(x -> x.name.equals(reached)).findFirst().orElse(null);
                if (step == null) {
                    problem(k.get("reached").getValueNode(), "'reached' refers to step '" + reached + "', which this pattern does not have" + didYouMean(reached, stepNames));
                } else if (step.absent) {
                    problem(k.get("reached").getValueNode(), "'reached' must name a step that binds an event; '" + reached + "' is an absence");
                }
            }
            if (!k.containsKey("alert")) {
                problem(m, "'on_timeout' needs an 'alert' (type, severity, payload), raised when a partial match times out");
                return null;
            }
            AlertAction alert = readAlert(k.get("alert").getValueNode(), stepNames);
            return alert == null ? null : new PatternDefinition.OnTimeout(reached, alert);
        }

        private AlertAction readAlert(Node node, Set<String> stepNames) {
            if (!(mapping(node, "alert") instanceof MappingNode m)) return null;
            Map<String, NodeTuple> k = keys(m, ALERT_KEYS, "alert");
            String type = requiredString(k, "type", m);
            String severity = optionalString(k, "severity");
            if (severity == null) severity = "medium";
            else if (!SEVERITIES.contains(severity)) {
                problem(k.get("severity").getValueNode(), "severity '" + severity + "' is not one of info, low, medium, high, critical" + didYouMean(severity, SEVERITIES));
            }
            Map<String, String> payload = new LinkedHashMap<>();
            if (k.containsKey("payload") && mapping(k.get("payload").getValueNode(), "payload") instanceof MappingNode pm) {
                for (NodeTuple t : pm.getValue()) {
                    String field = scalar(t.getKeyNode(), "payload key");
                    String template = scalar(t.getValueNode(), "payload value");
                    if (field == null || template == null) continue;
                    java.util.regex.Matcher tm = TEMPLATE.matcher(template);
                    while (tm.find()) {
                        String ref = tm.group(1).trim();
                        String step = ref.contains(".") ? ref.substring(0, ref.indexOf('.')) : ref;
                        if (!stepNames.contains(step) && TraitChecks.PROFILE.equals(step)) {
                            TraitChecks.profileTemplate(this, ref.substring(step.length()).replaceFirst("^\\.", ""), t.getValueNode());
                        } else if (!stepNames.contains(step)) {
                            problem(t.getValueNode(), "template ${" + ref + "} refers to step '" + step + "', which this pattern does not have" + didYouMean(step, stepNames));
                        }
                    }
                    payload.put(field, template);
                }
            }
            return type == null ? null : new AlertAction(type, severity, payload);
        }

        private SegmentAction readSegment(Node node) {
            if (!(mapping(node, "segment") instanceof MappingNode m)) return null;
            Map<String, NodeTuple> k = keys(m, SEGMENT_KEYS, "segment");
            String name = requiredString(k, "name", m);
            if (name != null && !NAME.matcher(name).matches()) {
                problem(k.get("name").getValueNode(), "segment name '" + name + "' must be lowercase letters, digits and '_'");
            }
            Duration ttl = null;
            if (!k.containsKey("ttl")) problem(m, "segment needs 'ttl' (how long membership lasts without an exit event), e.g. ttl: 7d");
            else ttl = duration(k.get("ttl").getValueNode());
            List<EventMatcher> exitOn = new ArrayList<>();
            if (k.containsKey("exit_on")) {
                Node e = k.get("exit_on").getValueNode();
                List<Node> items = e instanceof SequenceNode s ? s.getValue() : List.of(e);
                for (Node item : items) {
                    EventMatcher em = readMatcher(item, "exit_on", Set.of());
                    if (!em.needsStepContext()) exitOn.add(em);
                }
            }
            AlertAction exitAlert = null;
            if (k.containsKey("exit_alert")) {
                exitAlert = readAlert(k.get("exit_alert").getValueNode(), Set.of());
                if (!k.containsKey("exit_on")) problem(k.get("exit_alert").getKeyNode(), "'exit_alert' is raised when an 'exit_on' event ends membership; add 'exit_on'");
            }
            return name == null || ttl == null ? null : new SegmentAction(name, ttl, exitOn, exitAlert);
        }

        private CapAction readCap(Node node) {
            if (!(mapping(node, "cap") instanceof MappingNode m)) return null;
            Map<String, NodeTuple> k = keys(m, CAP_KEYS, "cap");
            Integer max = requiredInt(k, "max", m);
            if (max != null && max < 1) problem(k.get("max").getValueNode(), "cap max must be 1 or more");
            Duration per = null;
            if (!k.containsKey("per")) problem(m, "cap needs 'per' (the period), e.g. per: 24h");
            else per = duration(k.get("per").getValueNode());
            return max == null || per == null ? null : new CapAction(max, per);
        }

        // --- node helpers -------------------------------------------------------------------

        Node mapping(Node n, String what) {
            if (!(n instanceof MappingNode)) {
                problem(n, "'" + what + "' must be a mapping of keys");
                return null;
            }
            return n;
        }

        /** The keys of a mapping; unknown ones are problems with a suggestion. */
        Map<String, NodeTuple> keys(MappingNode m, Set<String> known, String where) {
            Map<String, NodeTuple> out = new LinkedHashMap<>();
            for (NodeTuple t : m.getValue()) {
                String key = t.getKeyNode() instanceof ScalarNode s ? s.getValue() : null;
                if (key == null) {
                    problem(t.getKeyNode(), "keys must be plain words");
                } else if (out.containsKey(key)) {
                    // SnakeYAML's compose() keeps the last of two equal keys silently
                    problem(t.getKeyNode(), "YAML syntax: duplicate key '" + key + "' (the first is on line " + line(out.get(key).getKeyNode()) + ")");
                } else if (!known.contains(key)) {
                    problem(t.getKeyNode(), "unknown key '" + key + "' in " + where + didYouMean(key, known)
                            + (didYouMean(key, known).isEmpty() ? " (known: " + String.join(", ", new java.util.TreeSet<>(known)) + ")" : ""));
                } else {
                    out.put(key, t);
                }
            }
            return out;
        }

        private Map<String, NodeTuple> plainKeys(MappingNode m) {
            Map<String, NodeTuple> out = new LinkedHashMap<>();
            for (NodeTuple t : m.getValue()) {
                if (t.getKeyNode() instanceof ScalarNode s) out.putIfAbsent(s.getValue(), t);
            }
            return out;
        }

        String scalar(Node n, String what) {
            if (n instanceof ScalarNode s) return s.getValue();
            problem(n, "'" + what + "' must be a single value, not a " + (n instanceof MappingNode ? "mapping" : "list"));
            return null;
        }

        String requiredString(Map<String, NodeTuple> k, String key, Node parent) {
            if (!k.containsKey(key)) {
                problem(parent, "missing '" + key + "'");
                return null;
            }
            String v = scalar(k.get(key).getValueNode(), key);
            if (v != null && v.isBlank()) {
                problem(k.get(key).getValueNode(), "'" + key + "' must not be empty");
                return null;
            }
            return v;
        }

        String optionalString(Map<String, NodeTuple> k, String key) {
            return k.containsKey(key) ? scalar(k.get(key).getValueNode(), key) : null;
        }

        Integer requiredInt(Map<String, NodeTuple> k, String key, Node parent) {
            String v = requiredString(k, key, parent);
            if (v == null) return null;
            try {
                return Integer.parseInt(v.trim());
            } catch (NumberFormatException e) {
                problem(k.get(key).getValueNode(), "'" + key + "' must be a whole number, got '" + v + "'");
                return null;
            }
        }

        Boolean optionalBool(Map<String, NodeTuple> k, String key) {
            String v = optionalString(k, key);
            if (v == null) return null;
            if (v.equals("true") || v.equals("false")) return Boolean.parseBoolean(v);
            problem(k.get(key).getValueNode(), "'" + key + "' must be true or false, got '" + v + "'");
            return null;
        }

        Duration duration(Node n) {
            String v = scalar(n, "duration");
            if (v != null && v.contains("${")) v = substituteParams(v, n, new ArrayList<>());
            if (v == null) return null;
            try {
                return Durations.parse(v);
            } catch (IllegalArgumentException e) {
                problem(n, e.getMessage());
                return null;
            }
        }

        void problem(Node n, String message) {
            problems.add(new PatternProblem(file, n == null ? 1 : line(n), n == null ? 1 : column(n), message));
        }

        static int line(Node n) {
            return n.getStartMark().getLine() + 1;
        }

        static int column(Node n) {
            return n.getStartMark().getColumn() + 1;
        }
    }

    /** ", did you mean 'x'?" for a close known word, else "". */
    static String didYouMean(String word, Set<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : known) {
            int d = EditDistance.between(word.toLowerCase(), k.toLowerCase());
            if (d < bestDistance) {
                bestDistance = d;
                best = k;
            }
        }
        return best != null && bestDistance <= Math.max(2, word.length() / 3) ? ", did you mean '" + best + "'?" : "";
    }

}
