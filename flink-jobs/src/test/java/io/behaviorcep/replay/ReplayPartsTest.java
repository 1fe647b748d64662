package io.behaviorcep.replay;

import io.behaviorcep.output.Alert;
import io.behaviorcep.cli.ReplayCommand;
import io.behaviorcep.event.EventParser;
import io.behaviorcep.event.RawRecord;
import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.segment.SegmentUpdate;
import io.behaviorcep.output.OutputJson;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The replay's parts that need no Flink: reading files in ranges, the log formats, progress, documents. */
class ReplayPartsTest {

    private static List<String> readAll(EventFiles files, long chunkSize, ReplayProgress.Counters counters) throws IOException {
        List<String> out = new ArrayList<>();
        for (EventFiles.Chunk c : files.chunksOf(chunkSize)) {
            EventFiles.read(c, files.format(), counters, r -> out.add(new String(r.value, StandardCharsets.UTF_8) + "@" + r.offset));
        }
        return out;
    }

    @Test
    void everyLineIsReadExactlyOnceWhateverTheRangeSize(@TempDir Path dir) throws IOException {
        // CRLF and LF, a blank line, and no line break at the end
        String text = "{\"a\":1}\r\n{\"b\":22}\n\n{\"c\":333}\n{\"d\":4444}";
        Path f = dir.resolve("e.jsonl");
        Files.writeString(f, text);
        EventFiles files = EventFiles.of(f, EventLogFormat.SEGMENT);
        List<String> expected = List.of("{\"a\":1}@0", "{\"b\":22}@9", "{\"c\":333}@19", "{\"d\":4444}@29");
        for (long size = 1; size <= text.length() + 1; size++) {
            ReplayProgress.Counters counters = new ReplayProgress.Counters();
            assertThat(readAll(files, size, counters)).as("range size %d", size).containsExactlyElementsOf(expected);
            assertThat(counters.records.get()).isEqualTo(4);
            assertThat(counters.bytes.get()).as("bytes counted, range size %d", size).isEqualTo(text.length());
        }
    }

    @Test
    void gzippedFilesAndFoldersAreRead(@TempDir Path dir) throws IOException {
        Path sub = Files.createDirectories(dir.resolve("2026/11"));
        Files.writeString(dir.resolve("a.jsonl"), "{\"n\":1}\n");
        try (OutputStream gz = new GZIPOutputStream(Files.newOutputStream(sub.resolve("b.jsonl.gz")))) {
            gz.write("{\"n\":2}\n{\"n\":3}\n".getBytes(StandardCharsets.UTF_8));
        }
        Files.writeString(dir.resolve("notes.txt"), "not events");
        Files.writeString(dir.resolve(".hidden.jsonl"), "{\"n\":9}\n");
        EventFiles files = EventFiles.of(dir, EventLogFormat.SEGMENT);
        assertThat(files.files()).extracting(p -> dir.relativize(p).toString()).containsExactly("2026/11/b.jsonl.gz", "a.jsonl");
        ReplayProgress.Counters counters = new ReplayProgress.Counters();
        assertThat(readAll(files, 4, counters)).containsExactlyInAnyOrder("{\"n\":1}@0", "{\"n\":2}@0", "{\"n\":3}@8");
        assertThat(counters.bytes.get()).isEqualTo(files.totalBytes());

        assertThatThrownBy(() -> EventFiles.of(dir.resolve("missing"), EventLogFormat.SEGMENT)).hasMessageContaining("no such file");
        assertThatThrownBy(() -> EventFiles.of(dir, EventLogFormat.TAOBAO)).hasMessageContaining("no .csv files");
    }

    @Test
    void rees46RowsBecomeSegmentTrackEvents() {
        EventParser parser = new EventParser(EventParser.Limits.defaults());
        String header = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session";
        assertThat(EventLogFormat.REES46.toRecord(header.getBytes(StandardCharsets.UTF_8))).isNull();

        String row = "2019-10-01 00:00:05 UTC,cart,1004856,2053013555631882655,electronics.smartphone,samsung,130.76,543272936,8187d148-3c41-46d4-b0c0-9c08cd9dc564";
        var e = parser.parse(RawRecord.of(EventLogFormat.REES46.toRecord(row.getBytes(StandardCharsets.UTF_8)))).event;
        assertThat(e.event).isEqualTo("Product Added");
        assertThat(e.userId).isEqualTo("543272936");
        assertThat(e.timestamp).isEqualTo(java.time.Instant.parse("2019-10-01T00:00:05Z").toEpochMilli());
        assertThat(e.property("product_id")).isEqualTo("1004856");
        assertThat(e.property("price")).isEqualTo("130.76");
        assertThat(e.property("brand")).isEqualTo("samsung");
        assertThat(e.context.get("session_id")).isEqualTo("8187d148-3c41-46d4-b0c0-9c08cd9dc564");
        assertThat(e.messageId).isEqualTo(EventLogFormat.messageId("rees46", row)).startsWith("rees46-").hasSize(7 + 32);

        var order = parser.parse(RawRecord.of(EventLogFormat.REES46.toRecord(row.replace(",cart,", ",purchase,").getBytes(StandardCharsets.UTF_8)))).event;
        assertThat(order.event).isEqualTo("Order Completed");
        assertThat(order.property("revenue")).isEqualTo("130.76");
        assertThat(parser.parse(RawRecord.of(EventLogFormat.REES46.toRecord(row.replace(",cart,", ",view,").getBytes(StandardCharsets.UTF_8)))).event.event)
                .isEqualTo("Product Viewed");

        // a truncated row (the shared file's last line) is passed on as it is: the parser refuses it
        byte[] truncated = "2019-10-01 02:50:00 UTC,view,10900305,2053013555069845885,appliances.kitchen.mixer,elenberg,25.71,52040330".getBytes(StandardCharsets.UTF_8);
        assertThat(EventLogFormat.REES46.toRecord(truncated)).isEqualTo(truncated);
        assertThat(parser.parse(RawRecord.of(truncated)).deadLetter.reason.name()).isEqualTo("NOT_JSON");
    }

    @Test
    void taobaoRowsBecomeSegmentTrackEvents() {
        EventParser parser = new EventParser(EventParser.Limits.defaults());
        String[][] cases = {{"pv", "Product Viewed"}, {"cart", "Product Added"}, {"fav", "Product Added to Wishlist"}, {"buy", "Order Completed"}};
        for (String[] c : cases) {
            String row = "999477,2200475,3607361," + c[0] + ",1511848894";
            var e = parser.parse(RawRecord.of(EventLogFormat.TAOBAO.toRecord(row.getBytes(StandardCharsets.UTF_8)))).event;
            assertThat(e.event).isEqualTo(c[1]);
            assertThat(e.userId).isEqualTo("999477");
            assertThat(e.timestamp).isEqualTo(1511848894000L);
            assertThat(e.property("product_id")).isEqualTo("2200475");
            assertThat(e.property("category_id")).isEqualTo("3607361");
            assertThat(e.messageId).isEqualTo(EventLogFormat.messageId("taobao", row));
        }
        // a clock before 2000 is converted, then refused by the job's parser like any other event
        byte[] old = EventLogFormat.TAOBAO.toRecord("1,2,3,pv,86400".getBytes(StandardCharsets.UTF_8));
        assertThat(parser.parse(RawRecord.of(old)).deadLetter.reason.name()).isEqualTo("INVALID_TIMESTAMP");
        assertThat(EventLogFormat.TAOBAO.toRecord("   ".getBytes(StandardCharsets.UTF_8))).isNull();
        assertThat(EventLogFormat.parse("Taobao")).isEqualTo(EventLogFormat.TAOBAO);
        assertThatThrownBy(() -> EventLogFormat.parse("csv")).hasMessageContaining("segment, rees46 or taobao");
    }

    @Test
    void progressIsABarOnATerminalAndLinesElsewhere() {
        ReplayProgress.Counters counters = new ReplayProgress.Counters();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        long[] now = {0};
        ReplayProgress bar = new ReplayProgress("replay", counters, 1000, ReplayProgress.Unit.BYTES, out, true, 200, () -> now[0]);
        now[0] = 10_000;
        counters.records.set(50_000);
        counters.bytes.set(250);
        bar.print();
        assertThat(bytes.toString(StandardCharsets.UTF_8))
                .isEqualTo("\rreplay [########......................]  25%  50,000 events  5,000 events/s  ETA 30s");
        // all read after 20 s: the rate stays the reading rate, then the time spent deciding shows
        now[0] = 20_000;
        counters.records.set(90_000);
        counters.bytes.set(1000);
        bar.print();
        now[0] = 27_000;
        bytes.reset();
        bar.print();
        assertThat(bytes.toString(StandardCharsets.UTF_8))
                .isEqualTo("\rreplay [##############################] 100%  90,000 events  4,500 events/s  deciding 7s");
        assertThat(bar.render(31_000, 90_000, 1000, 20_000, true)).endsWith("100%  90,000 events  4,500 events/s  done in 31s");

        ReplayProgress lines = new ReplayProgress("replay", counters, 400, ReplayProgress.Unit.RECORDS, out, false, 5_000, () -> now[0]);
        assertThat(lines.render(4_000, 100, 100, -1, false)).isEqualTo("replay: 100 events read (25%), 25 events/s, ETA 12s");
        assertThat(lines.render(9_000, 400, 400, 8_000, false)).isEqualTo("replay: 400 events read (100%), 50 events/s, deciding 1s");
        ReplayProgress unknown = new ReplayProgress("replay", counters, -1, ReplayProgress.Unit.RECORDS, out, false, 5_000, () -> now[0]);
        assertThat(unknown.render(1_000, 10, 10, -1, false)).isEqualTo("replay: 10 events read (?), 10 events/s, ETA --");
        assertThat(ReplayProgress.duration(3_725_000)).isEqualTo("1h02m");
        assertThat(ReplayProgress.duration(61_000)).isEqualTo("1m01s");
        assertThat(ReplayProgress.duration(9 * 86_400_000L + 7 * 3_600_000L + 13 * 60_000L)).isEqualTo("9d07h");
    }

    @Test
    void outputDocumentsTurnBackIntoTheSameRecords() {
        Alert a = new Alert();
        a.alertId = "818204a60d8ce1ae0e988419fc2425b5";
        a.patternId = "cart-abandonment";
        a.patternVersion = 1;
        a.alertType = "cart_abandoned";
        a.severity = "medium";
        a.userId = "user-1";
        a.detectedAt = 1_763_700_877_359L;
        a.matchedJson = "{\"viewed\":[{\"message_id\":\"m1\",\"timestamp\":\"2025-11-21T04:39:28.359Z\"}]}";
        a.payloadJson = "{\"price\":59.99,\"product_id\":\"p-1\",\"name\":null}";
        // every field of the profile, each with its own value, whatever fields it has by now
        a.profile = new ProfileSnapshot();
        int i = 1;
        for (java.lang.reflect.Field f : ProfileSnapshot.class.getFields()) {
            if (java.lang.reflect.Modifier.isStatic(f.getModifiers())) continue;
            try {
                if (f.getType() == long.class) f.setLong(a.profile, 1_763_700_000_000L + i * 1_000L);
                else if (f.getType() == int.class) f.setInt(a.profile, i);
                else if (f.getType() == double.class) f.setDouble(a.profile, i + 0.25);
            } catch (IllegalAccessException e) {
                throw new AssertionError(e);
            }
            i++;
        }
        JsonNode doc = OutputJson.alert(a);
        assertThat(OutputJson.alert(ReplayDocs.alert(doc))).isEqualTo(doc);

        SegmentUpdate enter = SegmentUpdate.of("user-1", "cart_abandoners", SegmentUpdate.ENTER, "cart-abandonment", 1_000, 2_000);
        SegmentUpdate exit = SegmentUpdate.of("user-1", "cart_abandoners", SegmentUpdate.EXIT, "ttl", 2_000, 0);
        for (SegmentUpdate u : List.of(enter, exit)) {
            JsonNode d = OutputJson.segment(u);
            assertThat(OutputJson.segment(ReplayDocs.segment(d))).isEqualTo(d);
        }
    }

    private static String[] run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = new picocli.CommandLine(new ReplayCommand(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8)))
                .setErr(new java.io.PrintWriter(err, true)).execute(args);
        return new String[] {Integer.toString(exit), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void theCommandRefusesWhatItCannotRun(@TempDir Path dir) throws IOException {
        Path events = Files.writeString(dir.resolve("e.jsonl"), "{}\n");
        Path csv = Files.writeString(dir.resolve("log.csv"), "1,2,3,pv,1511848894\n");
        String out = dir.resolve("out").toString();
        assertThat(run("--out", out)).startsWith("2").satisfies(r -> assertThat(r[2]).contains("give either --events FILE|DIR or a Kafka range"));
        assertThat(run("--events", events.toString(), "--kafka-from", "2026-11-01", "--out", out)).startsWith("2");
        assertThat(run("--events", csv.toString(), "--out", out)[2]).contains("is CSV: say which log it is with --events-format rees46|taobao");
        assertThat(run("--events", events.toString(), "--out", out, "--to-sinks")[2]).contains("--to-sinks needs --kafka.bootstrap-servers");
        assertThat(run("--events", events.toString(), "--out", out, "--events.max-out-of-ordernes", "1m")[2])
                .contains("unknown setting 'events.max-out-of-ordernes', did you mean 'events.max-out-of-orderness'?");
        assertThat(run("--kafka-from", "2026-11-01", "--out", out)[2]).contains("a Kafka range needs kafka.bootstrap-servers");

        // threshold segments are decided on timers batch execution would ignore: auto picks streaming, batch is refused
        assertThat(run("--events", events.toString(), "--patterns", io.behaviorcep.testing.Repo.patterns().toString(), "--out", out,
                "--mode", "batch")[2]).contains("threshold segments", "need streaming execution");
        assertThat(run("--events", events.toString(), "--out", out, "--mode", "fast")[2]).contains("--mode is auto, batch or streaming");
        ReplayRunner.Options o = new ReplayRunner.Options();
        o.patterns = io.behaviorcep.testing.Repo.shippedPatterns();
        assertThat(ReplayRunner.mode(o)).isEqualTo(ReplayRunner.Mode.BATCH);
        o.segments = io.behaviorcep.pattern.PatternLoader.load(io.behaviorcep.testing.Repo.patterns()).segments();
        assertThat(ReplayRunner.mode(o)).isEqualTo(ReplayRunner.Mode.STREAMING);

        Path bad = Files.writeString(dir.resolve("bad.yaml"), "id: bad\nversion: 1\nsteps:\n  - name: a\n    event: X\n    withn: 5m\n");
        String[] r = run("--events", events.toString(), "--patterns", bad.toString(), "--out", out);
        assertThat(r[0]).isEqualTo("1");
        assertThat(r[2]).contains("bad.yaml:6:5: unknown key 'withn'");
        assertThat(Files.exists(dir.resolve("out"))).isFalse();
    }

    @Test
    void kafkaRangeTimesAreInstantsOrDates() {
        assertThat(ReplayCommand.time("2026-11-01T10:00:00Z", "--kafka-from")).isEqualTo(java.time.Instant.parse("2026-11-01T10:00:00Z"));
        assertThat(ReplayCommand.time("2026-11-01T10:00:00+01:00", "--kafka-from")).isEqualTo(java.time.Instant.parse("2026-11-01T09:00:00Z"));
        assertThat(ReplayCommand.time("2026-11-01", "--kafka-to")).isEqualTo(java.time.Instant.parse("2026-11-01T00:00:00Z"));
        assertThatThrownBy(() -> ReplayCommand.time("yesterday", "--kafka-to")).hasMessageContaining("--kafka-to 'yesterday' is not a time");
    }
}
