package cepheus.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.flink.cep.functions.PatternProcessFunction;
import org.apache.flink.cep.functions.TimedOutPartialMatchHandler;
import org.apache.flink.cep.pattern.Pattern;
import org.apache.flink.runtime.util.EnvironmentInformation;
import org.apache.flink.util.Collector;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Benchmark mode: one pattern, one (large) keyed event stream, through the real CepOperator
 * (keyed, event time, HashMap heap state backend) with periodic bounded-out-of-orderness
 * watermarks, then a final watermark at Long.MAX_VALUE. See README.md.
 */
public final class Bench {
    private Bench() {}

    static long matches;
    static long timeouts;

    /** Counts matches, ignores their content (no output cost is charged to FlinkCEP). */
    static class Counting extends PatternProcessFunction<Ev, Void> {
        private static final long serialVersionUID = 1L;

        @Override
        public void processMatch(Map<String, List<Ev>> match, Context ctx, Collector<Void> out) {
            matches++;
        }
    }

    /** Same, and also asks FlinkCEP for timed-out partial matches (as `on timeout` would). */
    static final class CountingWithTimeouts extends Counting
            implements TimedOutPartialMatchHandler<Ev> {
        private static final long serialVersionUID = 1L;

        @Override
        public void processTimedOutMatch(Map<String, List<Ev>> match, Context ctx) {
            timeouts++;
        }
    }

    /** Samples used heap in the background; keeps the maximum seen since the last reset. */
    static final class HeapSampler extends Thread {
        private final MemoryMXBean mx = ManagementFactory.getMemoryMXBean();
        private final List<MemoryPoolMXBean> heapPools = new ArrayList<>();
        volatile long peak;
        volatile long peakAfterGc;
        volatile boolean stop;

        HeapSampler() {
            setDaemon(true);
            setName("heap-sampler");
            for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
                if (p.getType() == MemoryType.HEAP && p.isCollectionUsageThresholdSupported()) {
                    heapPools.add(p);
                }
            }
        }

        /** Heap in use right after the most recent collection of each pool (live data estimate). */
        long afterGc() {
            long sum = 0;
            for (MemoryPoolMXBean p : heapPools) {
                MemoryUsage u = p.getCollectionUsage();
                if (u != null) {
                    sum += u.getUsed();
                }
            }
            return sum;
        }

        void reset() {
            peak = mx.getHeapMemoryUsage().getUsed();
            peakAfterGc = afterGc();
        }

        @Override
        public void run() {
            while (!stop) {
                long u = mx.getHeapMemoryUsage().getUsed();
                if (u > peak) {
                    peak = u;
                }
                long g = afterGc();
                if (g > peakAfterGc) {
                    peakAfterGc = g;
                }
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    static final class Run {
        long events, matches, timeouts, elapsedNanos, peakHeap, peakHeapAfterGc, retainedHeap;
    }

    public static void main(String[] args, PrintStream out) throws Exception {
        Map<String, String> opt = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument " + a);
            }
            if (a.equals("--timeouts")) {
                opt.put("timeouts", "true");
            } else {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(a + " needs a value");
                }
                opt.put(a.substring(2), args[++i]);
            }
        }
        ObjectMapper mapper = new ObjectMapper();
        if (!opt.containsKey("pattern")) {
            throw new IllegalArgumentException("--pattern FILE is required");
        }
        JsonNode p = mapper.readTree(Files.readAllBytes(Paths.get(opt.get("pattern"))));
        JsonNode patternSpec = p.has("stages") ? p : p.get("pattern");
        PatternSpec.build(patternSpec); // fail fast on an invalid pattern

        long t0 = System.nanoTime();
        List<Ev> events;
        String source;
        if (opt.containsKey("events")) {
            events = readEvents(opt.get("events"), mapper);
            source = opt.get("events");
        } else if (opt.containsKey("gen")) {
            events =
                    generate(
                            Integer.parseInt(opt.get("gen")),
                            Integer.parseInt(opt.getOrDefault("keys", "100")),
                            Long.parseLong(opt.getOrDefault("seed", "42")),
                            Long.parseLong(opt.getOrDefault("step-ms", "10")),
                            opt.getOrDefault("types", "a,b,c").split(","));
            source = "gen";
            if (opt.containsKey("dump-events")) {
                dump(events, opt.get("dump-events"), mapper);
            }
        } else {
            throw new IllegalArgumentException("--events FILE or --gen N is required");
        }
        long loadMs = (System.nanoTime() - t0) / 1_000_000;

        int wmEvery = Integer.parseInt(opt.getOrDefault("watermark-every", "1000"));
        long lag = Long.parseLong(opt.getOrDefault("lag-ms", "0"));
        boolean withTimeouts = opt.containsKey("timeouts");
        int warmupN = Integer.parseInt(opt.getOrDefault("warmup", String.valueOf(Math.min(events.size(), 200_000))));

        HeapSampler sampler = new HeapSampler();
        sampler.start();

        Run warm = run(patternSpec, events.subList(0, Math.min(warmupN, events.size())), wmEvery, lag, withTimeouts, sampler);
        Run main = run(patternSpec, events, wmEvery, lag, withTimeouts, sampler);
        sampler.stop = true;

        ObjectNode r = mapper.createObjectNode();
        r.put("events", main.events);
        r.put("matches", main.matches);
        if (withTimeouts) {
            r.put("timeouts", main.timeouts);
        }
        r.put("elapsed_ms", main.elapsedNanos / 1e6);
        r.put("events_per_sec", main.events / (main.elapsedNanos / 1e9));
        r.put("peak_heap_bytes", main.peakHeap);
        r.put("peak_heap_after_gc_bytes", main.peakHeapAfterGc);
        r.put("retained_heap_bytes", main.retainedHeap);
        ObjectNode w = r.putObject("warmup");
        w.put("events", warm.events);
        w.put("matches", warm.matches);
        w.put("elapsed_ms", warm.elapsedNanos / 1e6);
        w.put("events_per_sec", warm.events / (warm.elapsedNanos / 1e9));
        ObjectNode cfg = r.putObject("config");
        cfg.put("flink_version", EnvironmentInformation.getVersion());
        cfg.put("source", source);
        cfg.put("watermark_every", wmEvery);
        cfg.put("lag_ms", lag);
        cfg.put("timeouts", withTimeouts);
        cfg.put("load_ms", loadMs);
        cfg.put("max_heap_bytes", Runtime.getRuntime().maxMemory());
        out.println(mapper.writeValueAsString(r));
        out.flush();
    }

    static Run run(JsonNode spec, List<Ev> events, int wmEvery, long lag, boolean withTimeouts, HeapSampler sampler)
            throws Exception {
        matches = 0;
        timeouts = 0;
        Pattern<Ev, Ev> pattern = PatternSpec.build(spec);
        System.gc();
        long baseline = usedHeap();
        sampler.reset();
        Cep.Op<Void> h = Cep.open(pattern, withTimeouts ? new CountingWithTimeouts() : new Counting());
        Run r = new Run();
        r.events = events.size();
        try {
            long start = System.nanoTime();
            long wm = Long.MIN_VALUE;
            long maxTs = Long.MIN_VALUE;
            int sinceWm = 0;
            for (Ev e : events) {
                h.element(e);
                if (e.ts > maxTs) {
                    maxTs = e.ts;
                }
                if (++sinceWm >= wmEvery) {
                    sinceWm = 0;
                    long next = maxTs - lag - 1;
                    if (next > wm) {
                        wm = next;
                        h.watermark(wm);
                    }
                }
            }
            long mid = System.nanoTime();
            // untimed: how much heap the operator's state holds before the final watermark
            System.gc();
            r.retainedHeap = Math.max(0, usedHeap() - baseline);
            long resume = System.nanoTime();
            h.watermark(Long.MAX_VALUE);
            long end = System.nanoTime();
            r.elapsedNanos = (mid - start) + (end - resume);
            // above the baseline: the pre-loaded input events are live throughout and not counted
            r.peakHeap = Math.max(0, sampler.peak - baseline);
            r.peakHeapAfterGc = Math.max(0, sampler.peakAfterGc - baseline);
            r.matches = matches;
            r.timeouts = timeouts;
        } finally {
            h.close();
        }
        return r;
    }

    static long usedHeap() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    static List<Ev> readEvents(String path, ObjectMapper mapper) throws Exception {
        List<Ev> out = new ArrayList<>();
        try (BufferedReader r =
                new BufferedReader(new InputStreamReader(new FileInputStream(path), StandardCharsets.UTF_8), 1 << 16)) {
            String line;
            while ((line = r.readLine()) != null) {
                if (!line.isBlank()) {
                    out.add(CaseRunner.parseEvent(mapper.readTree(line)));
                }
            }
        }
        return out;
    }

    /**
     * Deterministic synthetic stream: event i (1-based id) has ts = 1_700_000_000_000 + (i-1)*step,
     * key "k" + uniform(0..keys-1), type uniform over types, v = uniform [0,100) rounded to 2 decimals.
     */
    static List<Ev> generate(int n, int keys, long seed, long stepMs, String[] types) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<Ev> out = new ArrayList<>(n);
        long base = 1_700_000_000_000L;
        for (int i = 1; i <= n; i++) {
            String key = "k" + rnd.nextInt(keys);
            String type = types[rnd.nextInt(types.length)];
            double v = Math.round(rnd.nextDouble() * 10000.0) / 100.0;
            long ts = base + (long) (i - 1) * stepMs;
            Map<String, Object> f = Ev.newFieldMap();
            f.put("id", (double) i);
            f.put("key", key);
            f.put("ts", (double) ts);
            f.put("type", type);
            f.put("v", v);
            out.add(new Ev(i, key, ts, f));
        }
        return out;
    }

    static void dump(List<Ev> events, String path, ObjectMapper mapper) throws Exception {
        try (BufferedWriter w =
                new BufferedWriter(new OutputStreamWriter(new FileOutputStream(path), StandardCharsets.UTF_8), 1 << 16)) {
            for (Ev e : events) {
                ObjectNode o = mapper.createObjectNode();
                o.put("id", e.id);
                o.put("key", e.key);
                o.put("ts", e.ts);
                o.put("type", (String) e.get("type"));
                o.put("v", (Double) e.get("v"));
                w.write(mapper.writeValueAsString(o));
                w.newLine();
            }
        }
    }
}
